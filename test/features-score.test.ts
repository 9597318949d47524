import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseFinding } from "../src/contracts/finding.js";
import { computeFeatures } from "../src/features/compute.js";
import { TX_FEATURES } from "../src/features/transaction.js";
import type { FeatureSpec, TokenMeta } from "../src/features/types.js";
import { loadConfig } from "../src/kernel/config/index.js";
import { createLogger } from "../src/kernel/logger.js";
import { Registry } from "../src/kernel/metrics.js";
import { loadModel } from "../src/model/index.js";
import { createScoreStage } from "../src/score/stage.js";
import { featureSpecOf } from "../src/score/wiring.js";
import { connectedProducer, readTopic } from "./helpers/kafka.js";
import { loadMainnetTransferTxs, MAINNET_TRANSFERS_CSV } from "./helpers/mainnet.js";
import { runAtt } from "./helpers/processes.js";
import { createScoreTopics, scoreEnv } from "./helpers/score-env.js";
import { toKafkaMessages } from "./helpers/transfers.js";
import { HAS_VENV } from "./model-fixtures.js";

// A model of transaction-level features only, trained with `att model train`, served by the score
// stage on real Kafka with every enrichment provider unreachable: such a model needs none, so
// every transaction gets a scored finding (never INVALID) carrying the features as computed.
const HAVE_TRANSFERS = existsSync(MAINNET_TRANSFERS_CSV);
if (!HAS_VENV || !HAVE_TRANSFERS)
  console.warn(
    `features-score: skipped (${!HAS_VENV ? "model-tools/.venv is not set up" : `${MAINNET_TRANSFERS_CSV} is absent`})`,
  );

const NO_METADATA = { tokens: new Map<string, TokenMeta>(), firstTxTimestamp: null };

describe.skipIf(!HAS_VENV || !HAVE_TRANSFERS)("att score with a model of transaction-level features", () => {
  it("scores every transaction on Kafka without any enrichment, the features in the findings", async () => {
    const txs = loadMainnetTransferTxs();
    const train = txs.slice(0, 800);
    const live = txs.slice(800, 860);
    const authored: FeatureSpec = {
      features: [...Object.keys(TX_FEATURES), "transfer_counts"],
      tokenMatch: "symbol",
      tokens: [],
    };
    const lines = [["tx_hash", ...authored.features].join(",")];
    for (const tx of train) {
      const r = computeFeatures(tx, NO_METADATA, authored);
      if (!r.ok) throw new Error(`${tx.txHash}: ${r.code} ${r.reason}`);
      lines.push([tx.txHash, ...authored.features.map((f) => String(r.named[f]))].join(","));
    }
    const dir = mkdtempSync(join(tmpdir(), "att-features-score-"));
    writeFileSync(join(dir, "rows.csv"), `${lines.join("\n")}\n`);
    const out = join(dir, "model");
    const trained = await runAtt(
      ["model", "train", "--input", join(dir, "rows.csv"), "--out", out, "--n-estimators", "25"],
      {},
      170_000,
    );
    expect(trained.code, trained.stderr).toBe(0);

    // What the findings must say, from the engine fed by the extractor in this process.
    const model = await loadModel(out);
    onTestFinished(() => model.close());
    const spec = featureSpecOf(model);
    const expected = new Map<string, { named: Record<string, number>; score: number }>();
    for (const tx of live) {
      const r = computeFeatures(tx, NO_METADATA, spec);
      if (!r.ok) throw new Error(r.reason);
      const [score] = await model.scoreRows(r.values, 1);
      expected.set(tx.txHash, { named: r.named, score: score! });
    }

    const t = await createScoreTopics("featscore", { transfers: 1, findings: 1 });
    const env = scoreEnv({
      ...t,
      extra: {
        ATT_LOG_LEVEL: "warn",
        ATT_MODEL_DIR: out,
        // Nothing listens here: any lookup would fail and make the finding INVALID.
        ATT_RPC_HTTP_URL: "http://127.0.0.1:9",
        ATT_SCORE_ENRICH_DEADLINE_MS: "1500",
        ATT_ENRICH_ATTEMPTS: "1",
      },
    });
    const producer = await connectedProducer();
    await producer.send({ topic: t.transfers, messages: toKafkaMessages(live) });
    const registry = new Registry();
    const stage = await createScoreStage({
      config: loadConfig(env),
      logger: createLogger({ level: "warn" }),
      registry,
    });
    onTestFinished(() => stage.stop());
    await stage.start();

    const findings = (await readTopic(t.findings, live.length)).map((m) => parseFinding(m.value!));
    expect(findings).toHaveLength(live.length);
    for (const f of findings) {
      const hash = f.source.transactions![0]!.hash;
      const want = expected.get(hash)!;
      expect(f.alertId, f.metadata.invalid_reason).not.toBe("INVALID-TOKEN-TRANSFERS-TX");
      for (const name of spec.features)
        expect(f.metadata[name], `${hash} ${name}`).toBe(String(want.named[name]));
      expect(Number(f.metadata.anomaly_score)).toBeCloseTo(want.score, 6);
      expect(f.metadata.token_types).toBe("[]");
    }
    expect(new Set(findings.map((f) => f.source.transactions![0]!.hash))).toEqual(new Set(expected.keys()));
  }, 400_000);
});
