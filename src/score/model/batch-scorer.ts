import { performance } from "node:perf_hooks";
import type { Model, RowOutcome, ScoreResult } from "./model.js";
import { MODEL_ERROR_CODES, modelError } from "./errors.js";

export interface BatchScorerOptions {
  /**
   * Most rows per onnxruntime call. `run()` blocks the event loop for the whole call, so this
   * bounds the stall other work (Kafka heartbeats, HTTP probes) sees; bench/scoring.ts measures it.
   */
  maxBatchSize: number;
  /** How long a lone `score()` waits for company before its batch runs (0 = next macrotask). */
  maxWaitMs: number;
  /** Called after every model call, e.g. to feed a histogram. */
  onBatch?: (info: { rows: number; ms: number }) => void;
}

export interface BatchScorer {
  /**
   * Scores one row together with whatever else arrives within `maxWaitMs` (or until
   * `maxBatchSize` rows are waiting). Resolves with this row's result; rejects with a
   * ModelError (ATT_MODEL_INVALID_INPUT) for this row alone if it cannot be scored.
   */
  score(row: Float32Array): Promise<ScoreResult>;
  /** A consumer batch: one model call per `maxBatchSize` rows, run one after the other. */
  scoreMany(rows: readonly Float32Array[]): Promise<RowOutcome[]>;
  /** Runs the waiting rows now. */
  flush(): void;
  /** Rows waiting for their batch. */
  readonly pending: number;
  /** Runs what is waiting, waits for every model call in flight; later calls reject. */
  close(): Promise<void>;
}

interface Waiting {
  row: Float32Array;
  resolve: (r: ScoreResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Size-or-time batching in the style of viem's `createBatchScheduler`: each caller awaits its
 * own promise while inference runs on the whole batch.
 *
 * @example
 *   const scorer = createBatchScorer(model, { maxBatchSize: 256, maxWaitMs: 2 });
 *   const { score, anomalous } = await scorer.score(features); // shares a model call with concurrent callers
 */
export function createBatchScorer(
  model: Pick<Model, "scoreBatch" | "version">,
  options: BatchScorerOptions,
): BatchScorer {
  const { maxBatchSize, maxWaitMs } = options;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1)
    throw new RangeError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
  let waiting: Waiting[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  async function call(rows: readonly Float32Array[]): Promise<RowOutcome[]> {
    const t0 = performance.now();
    const out = await model.scoreBatch(rows);
    options.onBatch?.({ rows: rows.length, ms: performance.now() - t0 });
    return out;
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => {});
    return p;
  }

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (waiting.length === 0) return;
    const batch = waiting;
    waiting = [];
    track(
      call(batch.map((w) => w.row)).then(
        (outcomes) =>
          batch.forEach((w, i) => {
            const o = outcomes[i]!;
            if (o.ok) {
              const { ok: _ok, ...result } = o;
              w.resolve(result);
            } else w.reject(o.error);
          }),
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      ),
    );
  }

  function closedError() {
    return modelError(MODEL_ERROR_CODES.closed, `The batch scorer of model ${model.version} is closed.`);
  }

  return {
    score(row) {
      if (closed) return Promise.reject(closedError());
      return new Promise<ScoreResult>((resolve, reject) => {
        waiting.push({ row, resolve, reject });
        if (waiting.length >= maxBatchSize) flush();
        else if (timer === undefined) timer = setTimeout(flush, maxWaitMs);
      });
    },
    scoreMany(rows) {
      if (closed) return Promise.reject(closedError());
      return track(
        (async () => {
          const out: RowOutcome[] = [];
          for (let i = 0; i < rows.length; i += maxBatchSize)
            out.push(...(await call(rows.slice(i, i + maxBatchSize))));
          return out;
        })(),
      );
    },
    flush,
    get pending() {
      return waiting.length;
    },
    async close() {
      closed = true;
      flush();
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
