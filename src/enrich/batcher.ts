/**
 * Gathers single-key requests made at about the same time into one group call (viem's
 * createBatchScheduler): each caller awaits its own result while the group goes out as one
 * request — here, one JSON-RPC batch of eth_calls for every token job a worker runs at once.
 */
export function createGroupBatcher<K, V>(opts: {
  maxSize: number;
  waitMs: number;
  run: (keys: K[]) => Promise<V[]>;
}): (key: K) => Promise<V> {
  let pending: { key: K; resolve: (v: V) => void; reject: (e: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const group = pending;
    pending = [];
    if (group.length === 0) return;
    opts.run(group.map((g) => g.key)).then(
      (values) => group.forEach((g, i) => g.resolve(values[i]!)),
      (err: unknown) => group.forEach((g) => g.reject(err)),
    );
  };

  return (key) =>
    new Promise<V>((resolve, reject) => {
      pending.push({ key, resolve, reject });
      if (pending.length >= opts.maxSize) flush();
      else if (!timer) timer = setTimeout(flush, opts.waitMs);
    });
}
