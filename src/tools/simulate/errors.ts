import { NonRetryableError, type AttErrorOptions } from "../../kernel/errors.js";

/** The simulator cannot run against this node or with these settings (codes ATT_SIMULATE_*). */
export class SimulateError extends NonRetryableError {
  readonly code: string;
  constructor(shortMessage: string, opts: AttErrorOptions & { code: string }) {
    super(shortMessage, opts);
    this.code = opts.code;
  }
}
