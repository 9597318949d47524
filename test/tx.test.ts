import { describe, expect, it } from "vitest";
import { runAtt } from "./helpers/processes.js";

const QUIET = { ATT_LOG_LEVEL: "warn" };
import { findingSchema, type Finding } from "../src/contracts/finding.js";
import { useAnvil } from "./helpers/anvil.js";
import { connectAnvil, deploy, deployErc20 } from "./fixtures/contracts/deploy.js";

describe("att tx <hash>", () => {
  const anvil = useAnvil();

  it("prints the Forta finding of a transaction sent to anvil, with features from the chain", async () => {
    const { signer } = await connectAnvil(anvil.get().httpUrl);
    const me = (await signer.getAddress()).toLowerCase();
    const usdc = await deployErc20(signer, { name: "USD Coin", symbol: "USDC", decimals: 6 });
    const weth = await deployErc20(signer, { name: "Wrapped Ether", symbol: "WETH", decimals: 18 });
    const batcher = await deploy(signer, "Batcher");
    const to = "0x000000000000000000000000000000000000dEaD";
    // Two USDC transfers and one WETH transfer in one transaction (minted through the batcher).
    const sent = await batcher.mintMany!(
      [await usdc.getAddress(), await usdc.getAddress(), await weth.getAddress()],
      [to, to, to],
      [1_500_000n, 2_250_000n, 3n * 10n ** 18n],
    );
    const receipt = await sent.wait();

    const r = await runAtt(["tx", receipt!.hash, "--rpc", anvil.get().httpUrl], QUIET, 60_000);
    expect(r.code, r.stderr).toBe(0);
    const finding = JSON.parse(r.stdout) as Finding;
    expect(findingSchema.safeParse(finding).success).toBe(true);
    expect(["NORMAL-TOKEN-TRANSFERS-TX", "ANOMALOUS-TOKEN-TRANSFERS-TX"]).toContain(finding.alertId);
    expect(finding.source.transactions).toEqual([{ chainId: 31337, hash: receipt!.hash.toLowerCase() }]);
    expect(finding.metadata.from).toBe(me);
    expect(finding.metadata.USDC_transfers).toBe("2");
    expect(finding.metadata.USDC_value).toBe("3.75");
    expect(finding.metadata.WETH_transfers).toBe("1");
    expect(finding.metadata.WETH_value).toBe("3");
    expect(finding.metadata.transfer_counts).toBe("3");
    expect(finding.metadata.tokens_type_counts).toBe("2");
    expect(Number(finding.metadata.anomaly_score)).toBeGreaterThan(0);
    expect(JSON.parse(finding.metadata.model_explanations!).length).toBeGreaterThan(0);
  });

  it("says so when the transaction carries no ERC-20 transfer", async () => {
    const { signer } = await connectAnvil(anvil.get().httpUrl);
    const sent = await signer.sendTransaction({
      to: "0x000000000000000000000000000000000000dEaD",
      value: 1n,
    });
    await sent.wait();
    const r = await runAtt(["tx", sent.hash, "--rpc", anvil.get().httpUrl], QUIET, 60_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("carries no ERC-20 transfer");
  });

  it("fails clearly for an unknown hash or a malformed one", async () => {
    const unknown = await runAtt(["tx", `0x${"12".repeat(32)}`, "--rpc", anvil.get().httpUrl], QUIET, 60_000);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("is not known to the node");
    const bad = await runAtt(["tx", "0x1234", "--rpc", anvil.get().httpUrl], QUIET, 60_000);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Invalid transaction hash");
  });
});
