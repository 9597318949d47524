/**
 * A dead-lettered message (`att.dlq.v1`): the original bytes untouched (base64, so that
 * non-UTF-8 input survives), why it was rejected, and where it came from. Key = original key.
 * The same fields are also set as Kafka headers so tools can filter without parsing.
 */
export interface DlqRecord {
  v: 1;
  error: { code: string; message: string };
  source: { topic: string; partition: number; offset: string; timestamp: string };
  key: string | null;
  valueBase64: string | null;
  stage: string;
  failedAt: string;
}

export function dlqRecord(args: {
  error: { code: string; message: string };
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  stage: string;
}): DlqRecord {
  return {
    v: 1,
    error: args.error,
    source: { topic: args.topic, partition: args.partition, offset: args.offset, timestamp: args.timestamp },
    key: args.key ? args.key.toString("utf8") : null,
    valueBase64: args.value ? args.value.toString("base64") : null,
    stage: args.stage,
    failedAt: new Date().toISOString(),
  };
}

export function dlqHeaders(rec: DlqRecord): Record<string, string> {
  return {
    "att-error-code": rec.error.code,
    "att-error-message": rec.error.message.slice(0, 1000),
    "att-source-topic": rec.source.topic,
    "att-source-partition": String(rec.source.partition),
    "att-source-offset": rec.source.offset,
  };
}
