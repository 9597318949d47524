"""Inputs that stress exported trees: values sitting exactly on split thresholds and one float32
ulp either side, where a wrongly rounded float32 threshold would send a row the other way."""

from __future__ import annotations

import numpy as np

from .forest import Forest, float32_round_down


def threshold_values(forest: Forest) -> dict[int, np.ndarray]:
    """Per feature, every float32 that decides a split: t32 = round_down(t64) (goes left), its
    successor (goes right), its predecessor, and float32(t64) rounded to nearest."""
    per_feature: dict[int, list[np.ndarray]] = {}
    for tree in forest.trees:
        inner = ~tree.is_leaf
        t64 = tree.threshold[inner]
        t32 = float32_round_down(t64)
        up = np.nextafter(t32, np.float32(np.inf))
        down = np.nextafter(t32, np.float32(-np.inf))
        with np.errstate(over="ignore"):
            nearest = t64.astype(np.float32)
        for f, vals in zip(tree.feature[inner], np.stack([t32, up, down, nearest], axis=1)):
            per_feature.setdefault(int(f), []).append(vals)
    return {f: np.unique(np.concatenate(v)) for f, v in per_feature.items()}


def rows_near_thresholds(forest: Forest, base: np.ndarray, rng: np.random.Generator, per_row: int = 8) -> np.ndarray:
    """Copies of `base` rows (float32) with `per_row` features set to threshold neighbours."""
    values = threshold_values(forest)
    features = np.array(sorted(values))
    out = np.array(base, dtype=np.float32, copy=True)
    for i in range(out.shape[0]):
        for f in rng.choice(features, size=min(per_row, len(features)), replace=False):
            out[i, f] = rng.choice(values[int(f)])
    return out
