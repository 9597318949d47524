import { describe, expect, it, onTestFinished } from "vitest";
import type { Finding } from "../../src/contracts/finding.js";
import type { TokenTransferTx } from "../../src/contracts/token-transfer-tx.js";
import { queueName } from "../../src/enrich/keys.js";
import { loadConfig } from "../../src/kernel/config/index.js";
import { createLogger } from "../../src/kernel/logger.js";
import { Registry } from "../../src/kernel/metrics.js";
import { createScoreStage } from "../../src/score/stage.js";
import { BAD_ANSWERS, startStandin, type InjectedAnswer } from "../fixtures/api-standin/server.js";
import { connectedProducer } from "../helpers/kafka.js";
import { consoleConsume } from "../helpers/kafka-cli.js";
import { metricValue } from "../helpers/metrics.js";
import { createScoreTopics, scoreEnv } from "../helpers/score-env.js";
import { syntheticTxs, STANDIN_TEST_TOKENS, TEST_TOKENS, toKafkaMessages } from "../helpers/transfers.js";
import { reportFault, tallyFindings, waitCommittedToEnd } from "./harness.js";

/**
 * A hostile provider behind enrichment: the API stand-in answers slowly (300 ms), refuses above
 * a strict rate (Etherscan 15/s, Ethplorer 3/s, while our limiter allows more), and for a stretch
 * of senders and every token answers first in shapes the APIs never send (BAD_ANSWERS: wrong
 * shapes, non-JSON, HTML pages echoing the API key). Each transaction comes from its own sender,
 * so every one needs a first-transaction lookup through the queue.
 *
 * Phase 1: every bad answer is followed by a good one within the attempts, and the deadline
 * leaves time for the retries and the rate-limit pauses: every transaction is scored, 0 INVALID.
 * Phase 2: one sender's answers are always wrong (more of them than attempts): only its
 * transaction is INVALID (ATT_PROVIDER_BAD_ANSWER, no API key in the reason), decided when the
 * attempts run out — not by the deadline — and the transactions behind it on its partition are
 * scored. Counted with Kafka's own console consumer (read_committed).
 */

const N = 150;
/** Phase 2: the always-wrong sender's transaction first on partition 0, these behind it. */
const BEHIND = 20;
const ATTEMPTS = 5;
const DEADLINE_MS = 30_000;
const ETHERSCAN_KEY = "es-key-5ecre7-0d9f31";
const ETHPLORER_KEY = "ep-key-5ecre7-a77c02";
const INVALID = "INVALID-TOKEN-TRANSFERS-TX";

const sender = (i: number) => `0x${(0xe5000000 + i).toString(16).padStart(40, "0")}`;
const firstTx = (a: string) => 1_600_000_000 + Number.parseInt(a.slice(-5), 16);

describe("fault: a hostile provider is retried, never read as an answer", () => {
  it(
    "scores every transaction once through slow answers, rate-limit refusals and wrong shapes; a sender whose answers are always wrong gets the only INVALID, with the provider's code and no API key, and holds up nobody behind it",
    { timeout: 120_000 },
    async () => {
      const api = await startStandin({
        latencyMs: 300,
        etherscanRate: { max: 15, windowMs: 1000 },
        ethplorerRate: { max: 3, windowMs: 1000 },
        etherscanKeys: [ETHERSCAN_KEY],
        ethplorerKeys: [ETHPLORER_KEY],
        firstTx,
        tokens: STANDIN_TEST_TOKENS,
      });
      onTestFinished(() => api.close());
      const t = await createScoreTopics("fault-provider", { transfers: 3, findings: 3 });
      const env = scoreEnv({
        ...t,
        extra: {
          ATT_ENRICH_TOKEN_PROVIDER: "ethplorer",
          ATT_ETHPLORER_URL: api.url,
          ATT_ETHPLORER_API_KEY: ETHPLORER_KEY,
          ATT_ENRICH_FIRST_TX_PROVIDER: "etherscan",
          ATT_ETHERSCAN_URL: `${api.url}/v2/api`,
          ATT_ETHERSCAN_API_KEY: ETHERSCAN_KEY,
          // Our limiter lets more through than the stand-in takes: refusals are certain.
          ATT_ENRICH_FIRST_TX_RATE_MAX: "40",
          ATT_ENRICH_TOKEN_RATE_MAX: "20",
          ATT_ENRICH_RATE_LIMIT_PAUSE_MS: "300",
          ATT_ENRICH_CONCURRENCY: "16",
          ATT_ENRICH_ATTEMPTS: String(ATTEMPTS),
          ATT_ENRICH_BACKOFF_MS: "100",
          ATT_SCORE_ENRICH_DEADLINE_MS: String(DEADLINE_MS),
        },
      });
      const registry = new Registry();
      const stage = await createScoreStage({
        config: loadConfig(env),
        logger: createLogger({ level: "silent" }),
        registry,
      });
      onTestFinished(() => stage.stop());
      await stage.start();

      // Phase 1. Wrong answers before the right one, per address (never more than ATTEMPTS - 1 for
      // one address, so that each lookup ends with a value): every Etherscan kind once for a sender,
      // then three in a row for a few more; every Ethplorer kind spread over the seven tokens (≤ 3 each).
      const es = Object.values(BAD_ANSWERS.etherscan);
      const ep = Object.values(BAD_ANSWERS.ethplorer);
      const injected = { etherscan: 0, ethplorer: 0 };
      const inject = (apiName: "etherscan" | "ethplorer", answers: InjectedAnswer[], address: string) => {
        api.injectNext(apiName, answers, address);
        injected[apiName] += answers.length;
      };
      es.forEach((a, i) => inject("etherscan", [a], sender(i)));
      for (let i = 0; i < 4; i++)
        inject(
          "etherscan",
          [0, 1, 2].map((k) => es[(i * 3 + k) % es.length]!),
          sender(es.length + i),
        );
      const tokenBad = new Map<string, InjectedAnswer[]>();
      ep.forEach((a, j) => {
        const token = TEST_TOKENS[j % TEST_TOKENS.length]!.address;
        tokenBad.set(token, [...(tokenBad.get(token) ?? []), a]);
      });
      for (const [token, answers] of tokenBad) inject("ethplorer", answers, token);
      expect(Math.max(...[...tokenBad.values()].map((a) => a.length))).toBeLessThan(ATTEMPTS);

      // Every transaction from its own sender: one first-transaction lookup each.
      const own = (txs: TokenTransferTx[], from: number) =>
        txs.map((tx, i) => ({
          ...tx,
          from: sender(from + i),
          transfers: tx.transfers.map((x) => ({ ...x, from: sender(from + i) })),
        }));
      const phase1 = own(syntheticTxs(N, { seed: 181 }), 0);
      const producer = await connectedProducer();
      const t0 = Date.now();
      await producer.send({ topic: t.transfers, messages: toKafkaMessages(phase1) });
      await waitCommittedToEnd(t.transfers, t.group, 60_000);
      const phase1Sec = (Date.now() - t0) / 1000;

      const out1 = await consoleConsume({
        topic: t.findings,
        readCommitted: true,
        timeoutMs: 15_000,
        expected: N,
      });
      const t1 = tallyFindings(
        out1,
        phase1.map((x) => x.txHash),
      );
      expect(t1.missing).toEqual([]);
      expect(t1.unexpected).toEqual([]);
      expect(t1.duplicates).toBe(0);
      const invalid1 = [...t1.byHash.values()].filter((f) => f.alertId === INVALID);
      expect(invalid1.map((f) => f.metadata.invalid_reason)).toEqual([]);
      // The provider really was hostile, and every wrong answer was read as wrong (counted, retried).
      const outcomes = (apiName: string, outcome: string) =>
        api.requests.filter((r) => r.api === apiName && r.outcome === outcome).length;
      const badMetric = async (provider: string) =>
        metricValue(registry, "att_enrich_bad_answers_total", { provider });
      expect(outcomes("etherscan", "injected-answer")).toBe(injected.etherscan);
      expect(outcomes("ethplorer", "injected-answer")).toBe(injected.ethplorer);
      expect(await badMetric("etherscan")).toBe(injected.etherscan);
      expect(await badMetric("ethplorer")).toBe(injected.ethplorer);
      const waits = async (provider: string) =>
        metricValue(registry, "att_enrich_rate_limit_waits_total", { provider });
      expect(outcomes("etherscan", "rate-limited")).toBeGreaterThan(0);
      expect(outcomes("ethplorer", "rate-limited")).toBeGreaterThan(0);
      expect(await waits("etherscan")).toBe(outcomes("etherscan", "rate-limited"));
      expect(await waits("ethplorer")).toBe(outcomes("ethplorer", "rate-limited"));
      // One successful first-transaction answer per sender: nothing was looked up twice.
      expect(outcomes("etherscan", "ok")).toBe(N);

      // Phase 2. One sender whose every answer is wrong (HTML pages that echo the request URL and
      // its API key), more answers than attempts; its transaction first on partition 0, BEHIND others
      // after it on the same partition.
      const phase2 = own(syntheticTxs(1 + BEHIND, { seed: 182 }), 10_000);
      const doomed = phase2[0]!;
      const html: InjectedAnswer[] = [
        BAD_ANSWERS.etherscan["an HTML error page"]!,
        BAD_ANSWERS.etherscan["an HTML 403 page of a CDN"]!,
      ];
      api.injectNext(
        "etherscan",
        Array.from({ length: ATTEMPTS + 3 }, (_, i) => html[i % 2]!),
        doomed.from,
      );
      const t2 = Date.now();
      await producer.send({
        topic: t.transfers,
        messages: toKafkaMessages(phase2).map((m) => ({ ...m, partition: 0 })),
      });
      await waitCommittedToEnd(t.transfers, t.group, 60_000);
      const phase2Sec = (Date.now() - t2) / 1000;

      const all = [...phase1, ...phase2];
      const out = await consoleConsume({
        topic: t.findings,
        readCommitted: true,
        timeoutMs: 15_000,
        expected: all.length,
      });
      const tally = tallyFindings(
        out,
        all.map((x) => x.txHash),
      );
      expect(tally.missing).toEqual([]);
      expect(tally.unexpected).toEqual([]);
      expect(tally.duplicates).toBe(0);
      const invalid = [...tally.byHash.values()].filter((f) => f.alertId === INVALID);
      expect(invalid.map((f) => f.source.transactions![0]!.hash)).toEqual([doomed.txHash]);
      const verdict: Finding = invalid[0]!;
      expect(verdict.metadata.invalid_reason_code).toBe("ATT_PROVIDER_BAD_ANSWER");
      expect(verdict.metadata.invalid_reason).toMatch(
        new RegExp(
          `First-transaction time of ${doomed.from} could not be had: Etherscan txlist answered in a shape we do not know; Got: HTTP (200|403), <html>`,
        ),
      );
      // The HTML pages echoed the key; neither key is in any finding (the INVALID one included).
      for (const r of out) {
        expect(r.value).not.toContain(ETHERSCAN_KEY);
        expect(r.value).not.toContain(ETHPLORER_KEY);
      }
      expect(api.requests.filter((r) => r.address === doomed.from).map((r) => r.outcome)).toEqual(
        Array.from({ length: ATTEMPTS }, () => "injected-answer"),
      );
      expect(await badMetric("etherscan")).toBe(injected.etherscan + ATTEMPTS);
      // Nothing waited for the deadline: the verdict came when the attempts ran out, the partition
      // moved on at once, and no job is left in either queue.
      expect(phase2Sec * 1000).toBeLessThan(DEADLINE_MS / 2);
      const depth = await registry.getSingleMetricAsString("att_enrich_queue_jobs");
      for (const q of [queueName("firsttx", "etherscan"), queueName("token", "ethplorer")]) {
        expect(depth, "the queue depth was read").toContain(`queue="${q}",state="waiting"`);
        for (const state of ["waiting", "active", "delayed", "prioritized"])
          expect(
            await metricValue(registry, "att_enrich_queue_jobs", { queue: q, state }),
            `${q} ${state}`,
          ).toBe(0);
      }

      const dead = await consoleConsume({ topic: t.dlq, readCommitted: true, timeoutMs: 3000 });
      expect(dead).toHaveLength(0);
      const codes = [...new Set(invalid.map((f) => f.metadata.invalid_reason_code))].join(", ");
      reportFault({
        case: "hostile provider: 300 ms answers, rate-limit refusals (Etherscan 15/s, Ethplorer 3/s), wrong shapes / non-JSON / HTML pages, then one sender always wrong",
        n: all.length,
        findings: tally.findings,
        duplicates: tally.duplicates,
        missing: tally.missing.length,
        dlq: dead.length,
        countedBy: "kafka-console-consumer",
        note: `${invalid.length} INVALID (${codes}) — only the always-wrong sender, phase 1 (${N} tx) 0 INVALID in ${phase1Sec.toFixed(1)} s; ${injected.etherscan + ATTEMPTS} Etherscan and ${injected.ethplorer} Ethplorer bad answers counted, ${await waits("etherscan")} + ${await waits("ethplorer")} rate-limit pauses; phase 2 (${phase2.length} tx on one partition) committed in ${phase2Sec.toFixed(1)} s with a ${DEADLINE_MS / 1000} s deadline`,
      });
    },
  );
});
