import { NonRetryableError } from "../kernel/errors.js";

/** This process no longer holds the ingest lease (or a newer holder exists): stop producing. */
export class LeaseLostError extends NonRetryableError {
  readonly code = "ATT_INGEST_LEASE_LOST";
}

/** Kafka fenced this producer: another ingester with the same transactional.id took over. */
export class ProducerFencedError extends NonRetryableError {
  readonly code = "ATT_INGEST_FENCED";
}

/** The chain diverged below every block hash we still remember: an operator must choose a restart point. */
export class ReorgTooDeepError extends NonRetryableError {
  readonly code = "ATT_INGEST_REORG_TOO_DEEP";
}
