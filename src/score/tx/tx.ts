import type { TokenTransferTx } from "../../contracts/token-transfer-tx.js";
import type { Finding } from "../../contracts/finding.js";
import { createFirstTxProvider, createTokenProvider } from "../../enrich/index.js";
import { enrichmentFailure, type ResolvedEnrichment, type TokenMeta } from "../../enrich/types.js";
import type { BatchResolver } from "../../features/index.js";
import { toLogRecord, type RpcLog } from "../../ingest/block-source.js";
import { extractTokenTransferTxs } from "../../ingest/extract.js";
import type { FetchedBlock } from "../../ingest/types.js";
import type { Config } from "../../kernel/config/index.js";
import { errorCode, NonRetryableError, TimeoutError } from "../../kernel/errors.js";
import { createRpcClient, type RpcClient } from "../../rpc/client.js";
import type { Model } from "../../model/index.js";
import { createBatchProcessor } from "../processor.js";
import { featurePort, modelPort } from "../wiring.js";

export class TxNotFoundError extends NonRetryableError {
  readonly code = "ATT_TX_NOT_FOUND";
}

interface RpcTx {
  hash: string;
  from: string;
  to: string | null;
  blockNumber: string | null;
  blockHash: string | null;
  transactionIndex: string | null;
}
interface RpcReceipt {
  logs: RpcLog[];
}
interface RpcHeader {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
}

/** The transaction as ingest would have published it, or undefined when it has no ERC-20 transfer. */
export async function fetchTokenTransferTx(
  rpc: RpcClient,
  hash: string,
  chainId: number,
): Promise<TokenTransferTx | undefined> {
  const tx = await rpc.call<RpcTx | null>("eth_getTransactionByHash", [hash]);
  if (!tx)
    throw new TxNotFoundError(`Transaction ${hash} is not known to the node`, {
      details: ["Check the hash and that --rpc points at the right chain."],
    });
  if (!tx.blockNumber || !tx.blockHash)
    throw new TxNotFoundError(`Transaction ${hash} is still pending`, {
      details: ["Try again once it is mined."],
    });
  const [receipt, header] = await Promise.all([
    rpc.call<RpcReceipt>("eth_getTransactionReceipt", [hash]),
    rpc.call<RpcHeader>("eth_getBlockByHash", [tx.blockHash, false]),
  ]);
  const block: FetchedBlock = {
    number: Number(header.number),
    hash: header.hash.toLowerCase(),
    parentHash: header.parentHash.toLowerCase(),
    timestamp: Number(header.timestamp),
    transactions: [
      {
        hash: tx.hash.toLowerCase(),
        index: Number(tx.transactionIndex),
        from: tx.from.toLowerCase(),
        to: tx.to?.toLowerCase() ?? null,
      },
    ],
    logs: receipt.logs.map(toLogRecord),
  };
  return extractTokenTransferTxs(block, { chainId, observedAt: Date.now() }).txs[0];
}

/** Enrichment straight from the providers (no queue, no cache): what a one-off lookup needs. */
function directResolver(config: Config): BatchResolver {
  const tokens = createTokenProvider(config);
  const firstTx = createFirstTxProvider(config);
  return {
    async resolveBatch(txs, opts): Promise<ResolvedEnrichment> {
      // The deadline aborts with a TimeoutError, so that a lookup it cut short fails with ATT_TIMEOUT.
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(new TimeoutError(`Enrichment deadline of ${opts.deadlineMs} ms passed`)),
        opts.deadlineMs,
      );
      const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
      const out: ResolvedEnrichment = { tokens: new Map(), firstTx: new Map() };
      const addresses = [...new Set(txs.flatMap((t) => t.transfers.map((x) => x.token)))];
      const senders = [...new Set(txs.map((t) => t.from))];
      await Promise.all([
        tokens.fetch(addresses, signal).then(
          (metas: TokenMeta[]) => metas.forEach((m) => out.tokens.set(m.address, m)),
          (err: unknown) =>
            addresses.forEach((a) =>
              out.tokens.set(
                a,
                enrichmentFailure(errorCode(err), `token metadata of ${a}: ${(err as Error).message}`),
              ),
            ),
        ),
        ...senders.map((s) =>
          firstTx.fetch(s, signal).then(
            (t) => void out.firstTx.set(s, t),
            (err: unknown) =>
              void out.firstTx.set(
                s,
                enrichmentFailure(errorCode(err), `first transaction of ${s}: ${(err as Error).message}`),
              ),
          ),
        ),
      ]).finally(() => clearTimeout(timer));
      return out;
    },
  };
}

/**
 * `att tx <hash>`: fetch one transaction from a node, compute its features, score it and return
 * its finding — the same code path as the stream, without Kafka or Redis.
 */
export async function scoreOneTransaction(args: {
  hash: string;
  config: Config;
  model: Model;
}): Promise<{ tx?: TokenTransferTx; finding?: Finding }> {
  const { config, model } = args;
  const rpc = createRpcClient(config.chain.rpcHttpUrl, { timeoutMs: config.chain.rpcTimeoutMs });
  const chainId = Number(await rpc.call<string>("eth_chainId"));
  const tx = await fetchTokenTransferTx(rpc, args.hash.toLowerCase(), chainId);
  if (!tx) return {};
  const process = createBatchProcessor({
    features: featurePort(directResolver({ ...config, chain: { ...config.chain, chainId } }), model),
    model: modelPort(model),
    config: {
      routing: { findingsTopic: "stdout", normalFindings: "main" },
      dlqTopic: "stdout-dlq",
      enrichDeadlineMs: config.score.enrichDeadlineMs,
      explainTopK: config.score.explainTopK,
      explainNormal: true,
    },
  });
  const out = await process([
    {
      topic: "att tx",
      partition: 0,
      offset: "0",
      timestamp: String(Date.now()),
      key: null,
      value: Buffer.from(JSON.stringify(tx)),
    },
  ]);
  return { tx, finding: out.findings[0] };
}
