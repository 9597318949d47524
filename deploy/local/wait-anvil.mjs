#!/usr/bin/env node
// Readiness probe for the local anvil node (used by deploy/local/stack.sh).
//   node deploy/local/wait-anvil.mjs [--url http://127.0.0.1:8545] [--timeout 30] [--pid N]
// Exits 0 once eth_chainId answers over HTTP, 1 on timeout or when --pid died.
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const url = arg("url", `http://127.0.0.1:${process.env.ATT_ANVIL_PORT ?? "8545"}`);
const deadline = Date.now() + Number(arg("timeout", "30")) * 1000;
const pid = arg("pid", undefined);
let lastError = "";
for (;;) {
  if (pid) {
    try {
      process.kill(Number(pid), 0);
    } catch {
      console.error(`wait-anvil: anvil process ${pid} exited`);
      process.exit(1);
    }
  }
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(2000),
    });
    const body = await res.json();
    if (body.result) {
      console.log(`wait-anvil: ${url} answers eth_chainId = ${Number(body.result)}`);
      process.exit(0);
    }
    lastError = JSON.stringify(body);
  } catch (err) {
    lastError = err?.cause?.code ?? err?.message ?? String(err);
  }
  if (Date.now() > deadline) {
    console.error(`wait-anvil: timed out waiting for ${url} (last error: ${lastError})`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
