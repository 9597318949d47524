/**
 * Population Stability Index between a reference (training) histogram and an observed one on
 * the same bins: Σ (a_i − e_i) · ln(a_i / e_i) over bin shares. Rule of thumb: < 0.1 stable,
 * 0.1–0.25 moderate shift, > 0.25 significant shift.
 *
 * Empty bins make the logarithm infinite, so both sides get a pseudo-count of 0.5 per bin
 * (Jeffreys): a bin the training data never filled contributes a large but finite term.
 * Under no drift the expected PSI is about (bins − 1)·(1/n + 1/N) — ~0.008 for 50 bins,
 * a 10,000-row window and the ATT training set — far below any alarm level.
 */
export const PSI_PSEUDO_COUNT = 0.5;

export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (expected.length !== actual.length) {
    throw new RangeError(`psi: ${expected.length} reference bins vs ${actual.length} observed bins`);
  }
  const bins = expected.length;
  let eTotal = 0;
  let aTotal = 0;
  for (let i = 0; i < bins; i++) {
    eTotal += expected[i]!;
    aTotal += actual[i]!;
  }
  if (aTotal === 0 || eTotal === 0) return 0;
  const eDen = eTotal + PSI_PSEUDO_COUNT * bins;
  const aDen = aTotal + PSI_PSEUDO_COUNT * bins;
  let sum = 0;
  for (let i = 0; i < bins; i++) {
    const e = (expected[i]! + PSI_PSEUDO_COUNT) / eDen;
    const a = (actual[i]! + PSI_PSEUDO_COUNT) / aDen;
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}
