import { int, oneOf, optional, str, url } from "./option.js";

/** `att enrich` and the enrichment client inside `att score` (token metadata, first-transaction time). */
export const enrichOptions = {
  tokenProvider: oneOf(
    "ATT_ENRICH_TOKEN_PROVIDER",
    ["rpc", "ethplorer"] as const,
    "rpc",
    "Where token name/symbol/decimals come from: the node (eth_call, JSON-RPC batches) or Ethplorer getTokenInfo.",
  ),
  firstTxProvider: oneOf(
    "ATT_ENRICH_FIRST_TX_PROVIDER",
    ["otterscan", "etherscan"] as const,
    "otterscan",
    "Where an address's first-transaction time comes from: the node (ots_searchTransactionsAfter, Erigon/anvil) or an Etherscan-compatible txlist API.",
  ),
  workers: oneOf(
    "ATT_ENRICH_WORKERS",
    ["in-process", "external"] as const,
    "in-process",
    "Whether `att score`/`att demo` run the enrichment workers themselves or leave them to separate `att enrich` processes.",
  ),
  ethplorerUrl: url("ATT_ETHPLORER_URL", "https://api.ethplorer.io", "Ethplorer API base URL.", [
    "http:",
    "https:",
  ]),
  ethplorerApiKey: str(
    "ATT_ETHPLORER_API_KEY",
    "freekey",
    "Ethplorer API key (`freekey` is limited to 2 requests/s and 1,000/day).",
    { secret: true },
  ),
  etherscanUrl: url(
    "ATT_ETHERSCAN_URL",
    "https://api.etherscan.io/v2/api",
    "Etherscan-compatible API endpoint (Etherscan v2, Blockscout `/api`); `chainid` is sent from ATT_CHAIN_ID.",
    ["http:", "https:"],
  ),
  etherscanApiKey: optional(
    str("ATT_ETHERSCAN_API_KEY", undefined, "Etherscan API key (free tier: 3 calls/s, 100,000/day).", {
      secret: true,
    }),
  ),
  tokenRateMax: optional(
    int(
      "ATT_ENRICH_TOKEN_RATE_MAX",
      undefined,
      "Token-metadata jobs started per window across every replica; unset = provider default (rpc 50, ethplorer 2).",
      { min: 1 },
    ),
  ),
  tokenRateWindowMs: int("ATT_ENRICH_TOKEN_RATE_WINDOW_MS", 1000, "Window of ATT_ENRICH_TOKEN_RATE_MAX.", {
    min: 10,
    max: 3_600_000,
  }),
  firstTxRateMax: optional(
    int(
      "ATT_ENRICH_FIRST_TX_RATE_MAX",
      undefined,
      "First-transaction jobs started per window across every replica; unset = provider default (otterscan 50, etherscan 3).",
      { min: 1 },
    ),
  ),
  firstTxRateWindowMs: int(
    "ATT_ENRICH_FIRST_TX_RATE_WINDOW_MS",
    1000,
    "Window of ATT_ENRICH_FIRST_TX_RATE_MAX.",
    { min: 10, max: 3_600_000 },
  ),
  concurrency: int("ATT_ENRICH_CONCURRENCY", 8, "Jobs one worker process runs at once per queue.", {
    min: 1,
    max: 1000,
  }),
  attempts: int(
    "ATT_ENRICH_ATTEMPTS",
    5,
    "Attempts per job for transient errors (rate-limit waits do not count).",
    {
      min: 1,
      max: 100,
    },
  ),
  backoffMs: int("ATT_ENRICH_BACKOFF_MS", 500, "First retry delay; doubles per attempt (exponential).", {
    min: 0,
    max: 600_000,
  }),
  rateLimitPauseMs: int(
    "ATT_ENRICH_RATE_LIMIT_PAUSE_MS",
    1000,
    "How long a whole queue pauses when its provider answers 'rate limit reached'.",
    { min: 1, max: 3_600_000 },
  ),
  httpTimeoutMs: int("ATT_ENRICH_HTTP_TIMEOUT_MS", 10_000, "Timeout of each provider request.", {
    min: 100,
    max: 600_000,
  }),
  rpcBatchMax: int(
    "ATT_ENRICH_RPC_BATCH_MAX",
    50,
    "Token addresses per JSON-RPC batch request (3 eth_calls each).",
    { min: 1, max: 1000 },
  ),
  rpcBatchWaitMs: int(
    "ATT_ENRICH_RPC_BATCH_WAIT_MS",
    5,
    "How long a worker gathers token jobs into one JSON-RPC batch.",
    { min: 0, max: 10_000 },
  ),
  tokenTtlSec: int(
    "ATT_ENRICH_TOKEN_TTL_SEC",
    7 * 24 * 3600,
    "Lifetime of cached token metadata (Redis and in process).",
    { min: 1 },
  ),
  firstTxNoneTtlSec: int(
    "ATT_ENRICH_FIRST_TX_NONE_TTL_SEC",
    60,
    "Lifetime of a cached 'no transaction known' answer (a found first-transaction time never expires).",
    { min: 1 },
  ),
  lruMax: int("ATT_ENRICH_LRU_MAX", 200_000, "Entries of the in-process cache (tokens and senders).", {
    min: 1,
  }),
  maxWaitMs: int(
    "ATT_ENRICH_MAX_WAIT_MS",
    600_000,
    "After this long a queued lookup is forgotten by the waiting process and queued again on next need.",
    { min: 1000 },
  ),
  pollMs: int(
    "ATT_ENRICH_POLL_MS",
    1000,
    "While waiting, how often the cache is re-read in case a completion event was missed.",
    { min: 10, max: 60_000 },
  ),
};
