/** Per-run names, so that reruns never mix topics, groups, queues, leases or caches. */
export interface DemoNames {
  runId: string;
  transfersTopic: string;
  findingsTopic: string;
  dlqTopic: string;
  checkpointTopic: string;
  scoreGroup: string;
  observerGroup: string;
  scoreTransactionalPrefix: string;
  ingestTransactionalId: string;
  redisPrefix: string;
}

export function demoNames(runId: string): DemoNames {
  const base = `att.demo.${runId}`;
  return {
    runId,
    transfersTopic: `${base}.token-transfers.v1`,
    findingsTopic: `${base}.findings.v1`,
    dlqTopic: `${base}.dlq.v1`,
    checkpointTopic: `${base}.ingest-checkpoint.v1`,
    scoreGroup: `att-demo-${runId}-score`,
    observerGroup: `att-demo-${runId}-observer`,
    scoreTransactionalPrefix: `att-demo-${runId}-score`,
    ingestTransactionalId: `att-demo-${runId}-ingest`,
    redisPrefix: `att-demo-${runId}`,
  };
}

/** The environment of the demo's `att ingest|enrich|score` children. */
export function stageEnv(opts: {
  names: DemoNames;
  httpUrl: string;
  wsUrl: string;
  chainId: number;
  fromBlock: number;
  modelDir?: string;
  base?: NodeJS.ProcessEnv;
}): NodeJS.ProcessEnv {
  const n = opts.names;
  return {
    ...(opts.base ?? process.env),
    ATT_RPC_HTTP_URL: opts.httpUrl,
    ATT_RPC_WS_URL: opts.wsUrl,
    ATT_CHAIN_ID: String(opts.chainId),
    ATT_TOPIC_TRANSFERS: n.transfersTopic,
    ATT_TOPIC_FINDINGS: n.findingsTopic,
    ATT_TOPIC_DLQ: n.dlqTopic,
    ATT_INGEST_CHECKPOINT_TOPIC: n.checkpointTopic,
    ATT_INGEST_TRANSACTIONAL_ID: n.ingestTransactionalId,
    ATT_INGEST_FROM_BLOCK: String(opts.fromBlock),
    ATT_SCORE_GROUP_ID: n.scoreGroup,
    ATT_SCORE_TRANSACTIONAL_ID_PREFIX: n.scoreTransactionalPrefix,
    ATT_REDIS_PREFIX: n.redisPrefix,
    ATT_ENRICH_WORKERS: "external",
    ATT_ENRICH_TOKEN_PROVIDER: "rpc",
    ATT_ENRICH_FIRST_TX_PROVIDER: "otterscan",
    ATT_FINDINGS_NORMAL: "main",
    ATT_LOG_PRETTY: "false",
    ...(opts.modelDir ? { ATT_MODEL_DIR: opts.modelDir } : {}),
  };
}
