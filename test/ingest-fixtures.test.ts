import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { decodeBytes32String, Interface } from "ethers";
import { describe, expect, it } from "vitest";
import {
  artifact,
  connectAnvil,
  deployBatcher,
  deployBytes32Token,
  deployErc20,
  deployNft,
  deployNotAToken,
  type ContractName,
} from "./fixtures/contracts/deploy.js";
import { useAnvil } from "./helpers/anvil.js";

const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

describe("the shared contract fixtures", () => {
  const anvil = useAnvil();

  it("are compiled from the committed sources (run compile.ts after editing a .sol)", () => {
    const names: ContractName[] = [
      "TestToken",
      "Bytes32Token",
      "TestNFT",
      "Batcher",
      "NotAToken",
      "TransferEmitter",
    ];
    for (const name of names) {
      const a = artifact(name) as unknown as { sourceFile: string; sourceSha256: string };
      const source = readFileSync(new URL(`./fixtures/contracts/${a.sourceFile}`, import.meta.url));
      expect(createHash("sha256").update(source).digest("hex"), name).toBe(a.sourceSha256);
    }
  });

  it("deploy an ERC-20, a bytes32-symbol token, an ERC-721, a batcher and a non-token", async () => {
    const { signer, provider } = await connectAnvil(anvil.get().httpUrl);
    const me = await signer.getAddress();
    const usdc = await deployErc20(signer, { name: "USD Coin", symbol: "USDC", decimals: 6 });
    const mkr = await deployBytes32Token(signer, { name: "Maker", symbol: "MKR", decimals: 18 });
    const nft = await deployNft(signer, { name: "Apes", symbol: "APE" });
    const batcher = await deployBatcher(signer);
    const other = await deployNotAToken(signer);

    expect([await usdc.name(), await usdc.symbol(), await usdc.decimals()]).toEqual(["USD Coin", "USDC", 6n]);
    expect(decodeBytes32String(await mkr.symbol())).toBe("MKR");
    const asErc20 = new Interface(["function symbol() view returns (string)"]);
    await expect(
      provider.call({ to: await other.getAddress(), data: asErc20.encodeFunctionData("symbol") }),
    ).rejects.toThrow();

    const receipt = await (
      await batcher.mintMany([await usdc.getAddress(), await mkr.getAddress()], [me, me], [5n, 7n])
    ).wait();
    const transfers = receipt.logs.filter((l: { topics: string[] }) => l.topics[0] === TRANSFER_TOPIC);
    expect(transfers.map((l: { address: string }) => l.address)).toEqual([
      await usdc.getAddress(),
      await mkr.getAddress(),
    ]);

    const nftReceipt = await (await nft.mint(me, 1n)).wait();
    expect(nftReceipt.logs[0].topics).toHaveLength(4);
  });
});
