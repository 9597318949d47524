import { int, url } from "./option.js";

/** The Ethereum node the stages talk to. */
export const chainOptions = {
  chainId: int("ATT_CHAIN_ID", 1, "Chain id; checked against the node at start-up.", { min: 1 }),
  rpcHttpUrl: url(
    "ATT_RPC_HTTP_URL",
    "http://127.0.0.1:8545",
    "JSON-RPC over HTTP (requests, polling fallback).",
    ["http:", "https:"],
  ),
  rpcWsUrl: url("ATT_RPC_WS_URL", "ws://127.0.0.1:8545", "JSON-RPC over WebSocket (newHeads subscription).", [
    "ws:",
    "wss:",
  ]),
  rpcTimeoutMs: int("ATT_RPC_TIMEOUT_MS", 10_000, "Timeout of every JSON-RPC request.", {
    min: 100,
    max: 600_000,
  }),
};
