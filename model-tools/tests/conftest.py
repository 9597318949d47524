"""Shared fixtures. Tests that need the real ATT reference data skip with a clear message when
`<repo>/../shared/data` is absent (a fresh clone without the shared folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
ATT = SHARED_DATA / "att-reference"
PICKLE = ATT / "isolation_forest.pkl"
EXPLOITS = ATT / "exploit_rows.csv"
MARGINALS = ATT / "training_marginals.json"

needs_shared_data = pytest.mark.skipif(
    not PICKLE.exists(),
    reason=f"ATT reference data not found at {ATT} (the shared data folder beside the repository); these tests need the real model pickle",
)


@pytest.fixture(scope="session")
def att_forest():
    from att_model import data
    from att_model.safe_pickle import forest_from_pickle

    if not PICKLE.exists():
        pytest.skip(f"ATT reference data not found at {ATT}")
    forest = forest_from_pickle(PICKLE)
    forest.feature_names = data.feature_columns(EXPLOITS)
    return forest


@pytest.fixture(scope="session")
def att_onnx(att_forest, tmp_path_factory):
    from att_model.onnx_export import export

    path = tmp_path_factory.mktemp("att") / "model.onnx"
    export(att_forest, str(path))
    return path


def heavy_tailed_rows(rng: np.random.Generator, n: int, n_features: int) -> np.ndarray:
    """Mostly-zero, heavy-tailed, partly integer rows shaped like ATT features (no shared data needed)."""
    present = rng.random((n, n_features)) < 0.3
    scale = 10.0 ** rng.uniform(-3, 9, size=(n, n_features))
    x = np.abs(rng.standard_cauchy((n, n_features))) * scale * present
    ints = rng.random(n_features) < 0.5
    x[:, ints] = np.round(x[:, ints] / scale[:, ints].clip(1, 10) % 50)
    return x
