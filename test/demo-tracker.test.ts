import { describe, expect, it } from "vitest";
import { ALERT_IDS, type Finding } from "../src/contracts/finding.js";
import type { TokenTransferTx } from "../src/contracts/token-transfer-tx.js";
import { createTracker } from "../src/tools/demo/tracker.js";
import { renderLine, renderScreen, renderSummary } from "../src/tools/demo/view.js";
import type { SentTx } from "../src/tools/simulate/sender.js";

const hash = (i: number) => `0x${i.toString(16).padStart(64, "0")}`;

function sent(i: number, kind: SentTx["kind"] = "single"): SentTx {
  return {
    hash: hash(i),
    kind,
    ...(kind === "exploit" ? { template: "Saddle Finance" } : {}),
    sender: "0x1111111111111111111111111111111111111111",
    plannedAgeMinutes: 100,
    transfers: 1,
    tokens: ["USDC"],
    sentAt: 0,
  };
}

function published(i: number, observedAt: number, block = 10): TokenTransferTx {
  return {
    v: 1,
    chainId: 31337,
    blockNumber: block,
    blockHash: hash(9999),
    blockTimestamp: 1,
    txHash: hash(i),
    txIndex: 0,
    from: "0x1111111111111111111111111111111111111111",
    to: null,
    transfers: [
      {
        logIndex: 0,
        token: "0x2222222222222222222222222222222222222222",
        from: "0x0000000000000000000000000000000000000000",
        to: "0x3333333333333333333333333333333333333333",
        value: "1",
      },
    ],
    observedAt,
  };
}

function finding(i: number, alertId: string, score = 0.3): Finding {
  return {
    name: "n",
    description: "d",
    alertId,
    protocol: "ethereum",
    severity: "Info",
    type: "Info",
    metadata: {
      anomaly_score: String(score),
      model_explanations: JSON.stringify(["USDC_value=1 (+0.5000)"]),
      ...(alertId === ALERT_IDS.invalid ? { invalid_reason_code: "ATT_FIRST_TX_NOT_FOUND" } : {}),
    },
    addresses: [],
    labels: [],
    uniqueKey: `k${i}${alertId}`,
    source: { transactions: [{ chainId: 31337, hash: hash(i) }] },
    timestamp: new Date(0).toISOString(),
  };
}

describe("demo tracker", () => {
  it("measures latency from observedAt to the finding, whichever of the two topics is read first", () => {
    let t = 1000;
    const tr = createTracker(() => t);
    tr.sent(sent(1));
    tr.sent(sent(2));
    tr.published(published(1, 900));
    t = 1200;
    tr.finding(finding(1, ALERT_IDS.normal)); // 300 ms after observedAt
    tr.finding(finding(2, ALERT_IDS.normal)); // before its transfer message
    tr.published(published(2, 1100)); // 100 ms
    const s = tr.summary();
    expect(s.latencyMs).toMatchObject({ n: 2, p50: 100, max: 300 });
    expect(s.findings.missing).toBe(0);
  });

  it("matches findings and transfers that arrive before the simulator reported the hash", () => {
    let t = 0;
    const tr = createTracker(() => t);
    tr.published(published(7, 10));
    t = 60;
    tr.finding(finding(7, ALERT_IDS.anomalous, 0.7));
    tr.sent(sent(7, "exploit"));
    expect(tr.summary().exploits).toMatchObject({ injected: 1, detected: 1, recall: 1 });
    expect(tr.summary().latencyMs).toMatchObject({ n: 1, p50: 50 });
  });

  it("counts recall on exploits and the anomaly rate on normal traffic only, once per transaction", () => {
    const tr = createTracker(() => 0);
    for (let i = 0; i < 10; i++) tr.sent(sent(i, i < 2 ? "exploit" : "swap"));
    tr.finding(finding(0, ALERT_IDS.anomalous, 0.6));
    tr.finding(finding(1, ALERT_IDS.normal, 0.45));
    tr.finding(finding(2, ALERT_IDS.anomalous, 0.55));
    tr.finding(finding(2, ALERT_IDS.anomalous, 0.55)); // re-delivered
    for (let i = 3; i < 9; i++) tr.finding(finding(i, ALERT_IDS.normal));
    tr.finding(finding(99, ALERT_IDS.anomalous)); // not the simulator's
    const s = tr.summary();
    expect(s.sent).toMatchObject({ total: 10, exploit: 2, swap: 8 });
    expect(s.exploits).toMatchObject({ injected: 2, detected: 1, recall: 0.5 });
    expect(s.exploits.missed).toEqual([
      { hash: hash(1), template: "Saddle Finance", alertId: ALERT_IDS.normal, score: 0.45 },
    ]);
    expect(s.normal).toMatchObject({ scored: 7, anomalous: 1, anomalyRate: 1 / 7 });
    expect(s.findings).toMatchObject({ total: 9, anomalous: 2, normal: 7, missing: 1 });
    expect(tr.outstanding()).toBe(1);
  });

  it("counts INVALID findings apart, by reason code", () => {
    const tr = createTracker(() => 0);
    tr.sent(sent(1));
    tr.finding(finding(1, ALERT_IDS.invalid));
    const s = tr.summary();
    expect(s.normal).toMatchObject({ scored: 0, invalid: 1, anomalyRate: null });
    expect(s.invalidReasons).toEqual({ ATT_FIRST_TX_NOT_FOUND: 1 });
  });

  it("shows the latest anomalies with score and top explanation in the live view and the summary", () => {
    const tr = createTracker(() => 0);
    tr.sent(sent(1, "exploit"));
    tr.finding(finding(1, ALERT_IDS.anomalous, 0.668));
    const live = tr.live();
    const screen = renderScreen({ runId: "r1", chain: "anvil", model: "m1" }, live, "sending");
    expect(screen).toContain("exploit: Saddle Finance");
    expect(screen).toContain("score 0.668");
    expect(screen).toContain("USDC_value=1 (+0.5000)");
    expect(renderLine(live, "sending")).toContain("exploits 1/1");
    expect(renderSummary(tr.summary(), true)).toContain("1/1 detected (recall 1.000");
  });
});
