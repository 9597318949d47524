"""Synthetic ATT feature rows calibrated to the real training set's marginals.

Each row is built as a transaction, so the features stay consistent with each other:
  1. T = tokens_type_counts is drawn from its marginal.
  2. K of the T token types are tracked tokens (the 20 `<SYM>_transfers` features): K ~
     Binomial(T, q) with q = sum_j P(SYM_j present) / E[T]; which K tokens is a weighted draw
     without replacement, weights calibrated so each token's presence rate matches its
     marginal; the other T - K types are untracked tokens.
  3. A present tracked token gets a transfer count and a value from its marginal conditioned
     on being present (bins above zero; a small-value bin when the value marginal shows more
     near-zero mass than the transfer marginal), count and value tied by a Gaussian copula
     (rho = COPULA_RHO) so that more transfers go with larger amounts. Absent tokens: 0 and 0.
  4. Untracked tokens get a count from UNTRACKED_COUNT and a value from the
     max_single_token_transfers_value marginal (the only marginal of untracked amounts).
  5. transfer_counts = sum of all counts; max_single_token_transfers_count = the largest
     count; max_single_token_transfers_value = the value of that token (ties: the larger
     value) — which is how the six exploit rows relate these columns.
  6. account_age_in_minutes from its marginal, independently.
Within a bin, integers follow a truncated geometric law and reals a truncated lognormal, each
fitted to the bin's recorded mean (and std); degenerate bins (std ~ 0) give their mean.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from scipy.special import ndtr, ndtri

from .marginals import FeatureMarginal, Marginals

COPULA_RHO = 0.6
#: Transfers per untracked token: P(1), P(2), P(3..6), P(7..40), P(41..200), each range
#: uniform. Chosen so transfer_counts and max_single_token_transfers_count match their
#: marginals (see `calibration_report`).
UNTRACKED_COUNT = ((1, 1, 0.90), (2, 2, 0.07), (3, 6, 0.025), (7, 40, 0.0045), (41, 200, 0.0005))
INTEGER_SUFFIXES = ("_transfers", "_count", "_counts")
DERIVED = ("tokens_type_counts", "transfer_counts", "max_single_token_transfers_count", "max_single_token_transfers_value")


def is_integer_feature(name: str) -> bool:
    return name.endswith(INTEGER_SUFFIXES)


def _degenerate(mean: float, std: float) -> bool:
    return std <= 1e-9 * max(1.0, abs(mean))


def _geometric_pmf(k0: int, k1: int, mean: float) -> np.ndarray:
    """p(k) proportional to r^(k - k0) on k0..k1 with the given mean (bisection on log r)."""
    ks = np.arange(k0, k1 + 1, dtype=np.float64)
    if len(ks) == 1 or mean <= k0:
        return np.eye(1, len(ks))[0]
    if mean >= k1:
        return np.eye(1, len(ks), len(ks) - 1)[0]

    def pmf(log_r: float) -> np.ndarray:
        w = (ks - k0) * log_r
        w = np.exp(w - w.max())
        return w / w.sum()

    a, b = -50.0, 50.0
    for _ in range(200):
        m = (a + b) / 2
        if (pmf(m) * ks).sum() < mean:
            a = m
        else:
            b = m
    return pmf((a + b) / 2)


class BinSampler:
    """Inverse CDF of one feature's marginal restricted to some bins (u in (0,1) -> value)."""

    def __init__(self, m: FeatureMarginal, weights: np.ndarray, integer: bool, *, first_bin_uniform: bool = False):
        self.m = m
        self.integer = integer
        self.first_bin_uniform = first_bin_uniform
        w = np.clip(np.asarray(weights, dtype=np.float64), 0, None)
        if w.sum() <= 0:
            raise ValueError(f"{m.name}: no bin left to sample")
        self.p = w / w.sum()
        self.cum = np.cumsum(self.p)
        self.cum[-1] = 1.0
        self._int_pmfs: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _int_support(self, i: int) -> tuple[int, int]:
        m = self.m
        k0 = int(math.ceil(m.lo[i])) if i == 0 else int(math.floor(m.lo[i])) + 1
        k1 = int(math.floor(m.hi[i]))
        return k0, max(k0, k1)

    def _within(self, i: int, r: np.ndarray) -> np.ndarray:
        m = self.m
        lo, hi, mean, std = m.lo[i], m.hi[i], m.mean[i], m.std[i]
        if self.integer:
            if i not in self._int_pmfs:
                k0, k1 = self._int_support(i)
                pmf = _geometric_pmf(k0, k1, mean)
                self._int_pmfs[i] = (np.arange(k0, k1 + 1), np.cumsum(pmf))
            ks, cum = self._int_pmfs[i]
            return ks[np.minimum(np.searchsorted(cum, r, side="right"), len(ks) - 1)].astype(np.float64)
        if i == 0 and self.first_bin_uniform:
            return lo + (hi - lo) * np.maximum(r, 1e-12)
        if _degenerate(mean, std) or mean <= lo:
            return np.full(r.shape, min(max(mean, lo), hi))
        # lognormal of (x - lo) matched to the bin's mean and std, truncated to (lo, hi]
        mu_s = mean - lo
        sigma2 = math.log1p((std / mu_s) ** 2) if std > 0 else 1e-6
        sigma = math.sqrt(sigma2)
        mu = math.log(mu_s) - sigma2 / 2
        top = ndtr((math.log(hi - lo) - mu) / sigma) if hi > lo else 1.0
        q = np.clip(r * top, 1e-300, 1 - 1e-16)
        return np.clip(lo + np.exp(mu + sigma * ndtri(q)), np.nextafter(lo, np.inf), hi)

    def sample(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        b = np.minimum(np.searchsorted(self.cum, u, side="right"), len(self.p) - 1)
        start = np.concatenate([[0.0], self.cum[:-1]])[b]
        r = np.clip((u - start) / self.p[b], 0.0, 1.0)
        out = np.empty_like(u)
        for i in np.unique(b):
            sel = b == i
            out[sel] = self._within(int(i), r[sel])
        return out


class SyntheticGenerator:
    def __init__(self, marginals: Marginals):
        self.mg = marginals
        f = marginals.features
        self.symbols = sorted(n[: -len("_transfers")] for n in f if n.endswith("_transfers") and n != "max_single_token_transfers")
        self.feature_names = sorted(f)
        missing = [n for n in DERIVED + ("account_age_in_minutes",) if n not in f]
        missing += [f"{s}_value" for s in self.symbols if f"{s}_value" not in f]
        if missing:
            raise ValueError(f"marginals lack features {missing}")
        self.p_present = np.array([1.0 - f[f"{s}_transfers"].freq[0] for s in self.symbols])
        self.tokens = BinSampler(f["tokens_type_counts"], f["tokens_type_counts"].freq, integer=True)
        self.age = BinSampler(f["account_age_in_minutes"], f["account_age_in_minutes"].freq, integer=False)
        self.count: dict[str, BinSampler] = {}
        self.value: dict[str, BinSampler] = {}
        for s in self.symbols:
            ft, fv = f[f"{s}_transfers"], f[f"{s}_value"]
            self.count[s] = BinSampler(ft, np.concatenate([[0.0], ft.freq[1:]]), integer=True)
            small = max(0.0, fv.freq[0] - ft.freq[0])  # present but value in the lowest bin
            self.value[s] = BinSampler(fv, np.concatenate([[small], fv.freq[1:]]), integer=False, first_bin_uniform=True)
        mv = f["max_single_token_transfers_value"]
        self.untracked_value = BinSampler(mv, mv.freq, integer=False)
        mean_t = float((f["tokens_type_counts"].freq * f["tokens_type_counts"].mean).sum())
        self.q = min(1.0, float(self.p_present.sum()) / mean_t)
        self.weights = self._calibrate_weights()

    def _pick_tracked(self, rng: np.random.Generator, T: np.ndarray, weights: np.ndarray) -> np.ndarray:
        n, J = len(T), len(self.symbols)
        K = np.minimum(rng.binomial(T, self.q), J)
        present = np.zeros((n, J), dtype=bool)
        # weighted sampling without replacement via exponential keys (Efraimidis-Spirakis)
        keys = rng.exponential(size=(n, J)) / weights
        order = np.argsort(keys, axis=1)
        for k in range(1, J + 1):
            rows = K >= k
            present[np.flatnonzero(rows), order[rows, k - 1]] = True
        return present

    def _calibrate_weights(self, iterations: int = 8, n: int = 200_000) -> np.ndarray:
        rng = np.random.default_rng(12345)
        T = self.tokens.sample(rng.random(n)).astype(np.int64)
        w = self.p_present.copy()
        for _ in range(iterations):
            observed = self._pick_tracked(np.random.default_rng(54321), T, w).mean(axis=0)
            w = w * self.p_present / np.maximum(observed, 1e-9)
        return w

    def _untracked_counts(self, rng: np.random.Generator, n: int) -> np.ndarray:
        probs = np.array([p for _, _, p in UNTRACKED_COUNT])
        which = rng.choice(len(UNTRACKED_COUNT), size=n, p=probs / probs.sum())
        lo = np.array([a for a, _, _ in UNTRACKED_COUNT])[which]
        hi = np.array([b for _, b, _ in UNTRACKED_COUNT])[which]
        return rng.integers(lo, hi + 1)

    def generate(self, n_rows: int, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        J = len(self.symbols)
        T = self.tokens.sample(rng.random(n_rows)).astype(np.int64)
        present = self._pick_tracked(rng, T, self.weights)
        cols: dict[str, np.ndarray] = {}
        counts = np.zeros((n_rows, J))
        values = np.zeros((n_rows, J))
        for j, s in enumerate(self.symbols):
            z1 = rng.standard_normal(n_rows)
            z2 = COPULA_RHO * z1 + math.sqrt(1 - COPULA_RHO**2) * rng.standard_normal(n_rows)
            rows = present[:, j]
            counts[rows, j] = self.count[s].sample(ndtr(z1[rows]))
            values[rows, j] = self.value[s].sample(ndtr(z2[rows]))
            cols[f"{s}_transfers"] = counts[:, j]
            cols[f"{s}_value"] = values[:, j]
        # untracked token types
        n_untracked = T - present.sum(axis=1)
        width = int(n_untracked.max(initial=0))
        u_counts = np.zeros((n_rows, width))
        u_values = np.zeros((n_rows, width))
        for k in range(width):
            rows = n_untracked > k
            u_counts[rows, k] = self._untracked_counts(rng, int(rows.sum()))
            u_values[rows, k] = self.untracked_value.sample(rng.random(int(rows.sum())))
        all_counts = np.concatenate([counts, u_counts], axis=1)
        all_values = np.concatenate([values, u_values], axis=1)
        # argmax count, ties broken by the larger value
        is_max = all_counts == all_counts.max(axis=1, keepdims=True)
        best = np.argmax(np.where(is_max, all_values, -np.inf), axis=1)
        cols["tokens_type_counts"] = T.astype(np.float64)
        cols["transfer_counts"] = all_counts.sum(axis=1)
        cols["max_single_token_transfers_count"] = all_counts.max(axis=1)
        cols["max_single_token_transfers_value"] = all_values[np.arange(n_rows), best]
        cols["account_age_in_minutes"] = self.age.sample(rng.random(n_rows))
        return {name: cols[name] for name in self.feature_names}


def calibration_report(rows: dict[str, np.ndarray], marginals: Marginals) -> dict[str, dict]:
    """Per feature: real vs synthetic bin frequencies and their largest absolute difference."""
    out = {}
    for name, m in marginals.features.items():
        x = rows[name]
        got = np.bincount(m.bin_of(x), minlength=m.n_bins)[: m.n_bins] / len(x)
        out[name] = {"max_abs_freq_diff": float(np.abs(got - m.freq).max()), "real": m.freq.round(5).tolist(), "synthetic": got.round(5).tolist()}
    return out


def write_csv(rows: dict[str, np.ndarray], path: str | Path) -> None:
    names = list(rows)
    integer = [is_integer_feature(n) for n in names]
    cols = [rows[n] for n in names]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names)
        for i in range(len(cols[0])):
            w.writerow([str(int(c[i])) if isint else ("0" if c[i] == 0 else repr(float(c[i]))) for c, isint in zip(cols, integer)])
