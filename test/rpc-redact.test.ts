import { describe, expect, it } from "vitest";
import { scrubSecrets, urlSecrets } from "../src/kernel/logger.js";

describe("secrets in URLs (the one rule set: logs, error messages, shown URLs)", () => {
  it.each([
    [
      "Infura, key after /v3/",
      "https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
      "https://mainnet.infura.io/v3/***",
    ],
    [
      "Alchemy, key after /v2/",
      "wss://eth-mainnet.g.alchemy.com/v2/AbC-dEf_1234567890xyz",
      "wss://eth-mainnet.g.alchemy.com/v2/***",
    ],
    [
      "QuickNode, a token as the path",
      "https://a-b-c.quiknode.pro/0123456789abcdef0123456789abcdef01234567/",
      "https://a-b-c.quiknode.pro/***/",
    ],
    [
      "Etherscan, apikey in the query",
      "https://api.etherscan.io/v2/api?module=account&apikey=ABCDEF&sort=asc",
      "https://api.etherscan.io/v2/api?module=account&apikey=***&sort=asc",
    ],
    ["a password", "redis://:hunter2@redis:6379/0", "redis://:***@redis:6379/0"],
    ["a local node, nothing secret", "ws://127.0.0.1:8545", "ws://127.0.0.1:8545"],
    [
      "an address in the path is not a key",
      "https://api.ethplorer.io/getTokenInfo/0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
      "https://api.ethplorer.io/getTokenInfo/0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
    ],
  ])("%s", (_name, url, shown) => {
    expect(scrubSecrets(url)).toBe(shown);
  });

  it("masks a URL inside a sentence and keeps the punctuation after it", () => {
    expect(scrubSecrets('fetch failed (see "https://x.quiknode.pro/0123456789abcdef0123/").')).toBe(
      'fetch failed (see "https://x.quiknode.pro/***/").',
    );
    expect(scrubSecrets("node at https://rpc.ankr.com/eth/0123456789abcdef0123456789abcdef, retrying")).toBe(
      "node at https://rpc.ankr.com/eth/***, retrying",
    );
  });

  it("lists the values a server may echo: query keys, the password and key-like path segments", () => {
    expect(urlSecrets("https://u:pw@h/v3/0123456789abcdef0123?apikey=K1&page=1")).toEqual([
      "K1",
      "pw",
      "0123456789abcdef0123",
    ]);
  });
});
