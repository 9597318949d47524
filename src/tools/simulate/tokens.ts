/** A token the simulator deploys: its ERC-20 metadata as on mainnet. */
export interface TokenSpec {
  symbol: string;
  name: string;
  decimals: number;
  /** True for the model's tokens (`<SYMBOL>_transfers` / `<SYMBOL>_value` features). */
  tracked: boolean;
}

/**
 * Mainnet name and decimals of the ATT model's 20 tokens (and a few more), so that deployed
 * copies normalize values exactly as the real ones: USDC/USDT 6, WBTC/HEX/GALA 8, SAITAMA 9,
 * the rest 18.
 */
const KNOWN: Record<string, { name: string; decimals: number }> = {
  APE: { name: "ApeCoin", decimals: 18 },
  CRV: { name: "Curve DAO Token", decimals: 18 },
  DAI: { name: "Dai Stablecoin", decimals: 18 },
  GALA: { name: "Gala", decimals: 8 },
  HEX: { name: "HEX", decimals: 8 },
  KOK: { name: "KOK Coin", decimals: 18 },
  LINK: { name: "ChainLink Token", decimals: 18 },
  LOOKS: { name: "LooksRare Token", decimals: 18 },
  MANA: { name: "Decentraland MANA", decimals: 18 },
  MATIC: { name: "Matic Token", decimals: 18 },
  SAITAMA: { name: "SAITAMA INU", decimals: 9 },
  SAND: { name: "SAND", decimals: 18 },
  SHIB: { name: "SHIBA INU", decimals: 18 },
  SOS: { name: "SOS", decimals: 18 },
  STRNGR: { name: "Stronger", decimals: 18 },
  STRONG: { name: "Strong", decimals: 18 },
  USDC: { name: "USD Coin", decimals: 6 },
  USDT: { name: "Tether USD", decimals: 6 },
  WBTC: { name: "Wrapped BTC", decimals: 8 },
  WETH: { name: "Wrapped Ether", decimals: 18 },
};

/**
 * Tokens outside the model (real transactions move them too: they count in transfer_counts,
 * tokens_type_counts and max_single_token_*). The first ones are those of the known exploits.
 * Enough of them for the largest token-type count in the training data (13).
 */
export const UNTRACKED_TOKENS: readonly TokenSpec[] = [
  { symbol: "DOLA", name: "Dola USD Stablecoin", decimals: 18 },
  { symbol: "3CRV", name: "Curve.fi DAI/USDC/USDT", decimals: 18 },
  { symbol: "SUSD", name: "Synth sUSD", decimals: 18 },
  { symbol: "LUSD", name: "LUSD Stablecoin", decimals: 18 },
  { symbol: "FRAX", name: "Frax", decimals: 18 },
  { symbol: "BEAN", name: "Bean", decimals: 6 },
  { symbol: "INV", name: "Inverse DAO", decimals: 18 },
  { symbol: "YFI", name: "yearn.finance", decimals: 18 },
  { symbol: "RENA", name: "RENA Token", decimals: 18 },
  { symbol: "UNI", name: "Uniswap", decimals: 18 },
  { symbol: "AAVE", name: "Aave Token", decimals: 18 },
  { symbol: "COMP", name: "Compound", decimals: 18 },
  { symbol: "SUSHI", name: "SushiToken", decimals: 18 },
  { symbol: "LDO", name: "Lido DAO Token", decimals: 18 },
  { symbol: "ENS", name: "Ethereum Name Service", decimals: 18 },
].map((t) => ({ ...t, tracked: false }));

/** The ATT bot's 20 tokens, used when neither a model card nor the reference CSV is at hand. */
export const ATT_TOKEN_SYMBOLS = Object.keys(KNOWN);

export function trackedToken(symbol: string, decimals?: number): TokenSpec {
  const known = KNOWN[symbol];
  return { symbol, name: known?.name ?? symbol, decimals: decimals ?? known?.decimals ?? 18, tracked: true };
}

/** `<SYM>_transfers` + `<SYM>_value` pairs name the model's tokens (the ATT convention). */
export function symbolsFromFeatures(features: readonly string[]): string[] {
  const names = new Set(features);
  const out: string[] = [];
  for (const f of features) {
    if (!f.endsWith("_transfers")) continue;
    const sym = f.slice(0, -"_transfers".length);
    if (sym !== "max_single_token" && names.has(`${sym}_value`)) out.push(sym);
  }
  return out.sort();
}

export interface ModelTokens {
  tokens: TokenSpec[];
  /** Where the list came from, for logs. */
  from: string;
}

/** The parts of a model card (model.json) that name its tokens. */
export interface TokenCard {
  features: readonly string[];
  tokens?: readonly { symbol: string; decimals?: number }[];
}

/**
 * The tokens of the model the pipeline scores with: the card's `tokens` (else its
 * `<SYM>_transfers` features), else the ATT bot's 20 tokens. Untracked tokens are appended.
 */
export function resolveTokens(opts: { card?: TokenCard; cardPath?: string }): ModelTokens {
  let tracked: TokenSpec[] = [];
  let from = "";
  if (opts.card) {
    tracked = (opts.card.tokens ?? []).map((t) => trackedToken(t.symbol, t.decimals));
    if (tracked.length === 0) tracked = symbolsFromFeatures(opts.card.features).map((s) => trackedToken(s));
    from = opts.cardPath ?? "model card";
  }
  if (tracked.length === 0) {
    tracked = ATT_TOKEN_SYMBOLS.map((s) => trackedToken(s));
    from = "built-in ATT token list";
  }
  const taken = new Set(tracked.map((t) => t.symbol));
  return { tokens: [...tracked, ...UNTRACKED_TOKENS.filter((t) => !taken.has(t.symbol))], from };
}
