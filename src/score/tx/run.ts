import { existsSync } from "node:fs";
import { loadConfig } from "../../kernel/config/index.js";
import { ConfigError } from "../../kernel/errors.js";
import { loadConfiguredModel } from "../../model/index.js";
import { scoreOneTransaction } from "./tx.js";

export async function runTx(hash: string, opts: { rpc?: string; model?: string }): Promise<void> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) {
    throw new ConfigError(`Invalid transaction hash: got ${JSON.stringify(hash)}`, {
      details: ["Expected: 0x followed by 64 hex digits."],
    });
  }
  const modelOverride = opts.model
    ? existsSync(opts.model)
      ? { dir: opts.model }
      : { version: opts.model }
    : {};
  const config = loadConfig(process.env, {
    chain: opts.rpc ? { rpcHttpUrl: opts.rpc } : {},
    model: modelOverride,
  });
  const model = await loadConfiguredModel(config.model);
  try {
    const { tx, finding } = await scoreOneTransaction({ hash, config, model });
    if (!tx) {
      process.stderr.write(
        `Transaction ${hash} carries no ERC-20 transfer: the ATT bot emits no finding for it.\n`,
      );
      return;
    }
    // Printed as the Forta SDK's Finding.toString() does (2-space JSON).
    process.stdout.write(JSON.stringify(finding, null, 2) + "\n");
  } finally {
    await model.close();
  }
}
