import type { Config } from "../../kernel/config/index.js";
import type { FirstTxProvider, TokenMetadataProvider } from "../types.js";
import { createEtherscanFirstTx } from "./etherscan.js";
import { createEthplorerTokens } from "./ethplorer.js";
import { createOtterscanFirstTx } from "./otterscan.js";
import { createRpcTokens } from "./rpc-tokens.js";

export type EnrichConfig = Pick<Config, "enrich" | "chain">;

/** Jobs per window when ATT_ENRICH_*_RATE_MAX is unset: the providers' free-tier limits, a node's comfort. */
export const DEFAULT_RATE_MAX = { rpc: 50, ethplorer: 2, otterscan: 50, etherscan: 3 } as const;

export function createTokenProvider(config: EnrichConfig): TokenMetadataProvider {
  const e = config.enrich;
  return e.tokenProvider === "ethplorer"
    ? createEthplorerTokens({
        url: e.ethplorerUrl,
        apiKey: e.ethplorerApiKey,
        timeoutMs: e.httpTimeoutMs,
        rateLimitPauseMs: e.rateLimitPauseMs,
      })
    : createRpcTokens({
        url: config.chain.rpcHttpUrl,
        timeoutMs: e.httpTimeoutMs,
        rateLimitPauseMs: e.rateLimitPauseMs,
      });
}

export function createFirstTxProvider(config: EnrichConfig): FirstTxProvider {
  const e = config.enrich;
  return e.firstTxProvider === "etherscan"
    ? createEtherscanFirstTx({
        url: e.etherscanUrl,
        ...(e.etherscanApiKey ? { apiKey: e.etherscanApiKey } : {}),
        chainId: config.chain.chainId,
        timeoutMs: e.httpTimeoutMs,
        rateLimitPauseMs: e.rateLimitPauseMs,
      })
    : createOtterscanFirstTx({
        url: config.chain.rpcHttpUrl,
        timeoutMs: e.httpTimeoutMs,
        rateLimitPauseMs: e.rateLimitPauseMs,
      });
}
