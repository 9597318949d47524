"""The ATT training set's per-feature statistics (training_marginals.json, recovered from the
bot's LIME explainer): entropy bins with frequency, mean, std, min and max per bin.

Bin i covers (edge[i], edge[i+1]] with edge = [bin_min[0], bin_max[0], bin_max[1], ...]; the
first bin also holds everything <= its upper edge, the last everything above its lower edge
(the LIME labels read "x <= a", "a < x <= b", "x > b").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class FeatureMarginal:
    name: str
    freq: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    lo: np.ndarray  # bin_min: lower edge (first bin: observed minimum)
    hi: np.ndarray  # bin_max: upper edge (last bin: observed maximum)

    @property
    def n_bins(self) -> int:
        return len(self.freq)

    @property
    def edges(self) -> np.ndarray:
        return np.concatenate([[self.lo[0]], self.hi])

    @property
    def cuts(self) -> np.ndarray:
        """Inner bin boundaries (len n_bins - 1)."""
        return self.hi[:-1]

    def counts(self, n: int) -> list[int]:
        return [int(round(f * n)) for f in self.freq]

    def bin_of(self, x: np.ndarray) -> np.ndarray:
        """Right-closed bin index of each value (searchsorted on the inner cuts)."""
        return np.searchsorted(self.cuts, np.asarray(x, dtype=np.float64), side="left")


@dataclass
class Marginals:
    n_samples: int
    source: str
    features: dict[str, FeatureMarginal]


def load_marginals(path: str | Path) -> Marginals:
    raw = json.loads(Path(path).read_text())
    feats = {}
    for name, f in raw["features"].items():
        feats[name] = FeatureMarginal(
            name=name,
            freq=np.asarray(f["bin_freq"], dtype=np.float64),
            mean=np.asarray(f["bin_mean"], dtype=np.float64),
            std=np.asarray(f["bin_std"], dtype=np.float64),
            lo=np.asarray(f["bin_min"], dtype=np.float64),
            hi=np.asarray(f["bin_max"], dtype=np.float64),
        )
    return Marginals(n_samples=int(raw["n_samples"]), source=str(raw.get("source", "")), features=feats)
