"""Helper of verify-att-against-sklearn-1.1.sh: `rows` writes the test rows, `compare` prints
the parity of att_model (exact scorer and compact ONNX) against sklearn's scores."""

import sys
from pathlib import Path

import numpy as np

from att_model import data
from att_model.build import onnx_scores
from att_model.marginals import load_marginals
from att_model.onnx_export import export
from att_model.parity import rows_near_thresholds
from att_model.safe_pickle import forest_from_pickle
from att_model.synthetic import SyntheticGenerator

mode, data_dir, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
forest = forest_from_pickle(data_dir / "isolation_forest.pkl")
forest.feature_names = data.feature_columns(data_dir / "exploit_rows.csv")
if mode == "rows":
    gen = SyntheticGenerator(load_marginals(data_dir / "training_marginals.json"))
    rows = gen.generate(20000, 1)
    S = np.column_stack([rows[n] for n in forest.feature_names])
    rng = np.random.default_rng(3)
    E = rows_near_thresholds(forest, S, rng, per_row=10).astype(np.float64)
    Z = rows_near_thresholds(forest, np.zeros((10000, forest.n_features)), rng, per_row=20).astype(np.float64)
    np.save(work / "rows.npy", np.vstack([S, E, Z]))
else:
    X = np.load(work / "rows.npy")
    sk = -np.load(work / "sklearn.npy")
    export(forest, str(work / "model.onnx"))
    onnx, _ = onnx_scores(work / "model.onnx", X)
    exact = forest.score(X)
    parts = {"synthetic": slice(0, 20000), "synthetic+thresholds": slice(20000, 40000), "zeros+thresholds": slice(40000, 50000), "all": slice(None)}
    for name, got in (("exact", exact), ("onnx", onnx)):
        for label, s in parts.items():
            d = np.abs(got[s] - sk[s])
            mism = int(((got[s] >= 0.5) != (sk[s] >= 0.5)).sum())
            print(f"{name:5s} vs sklearn  {label:22s} rows={len(d):6d} max|diff|={d.max():.3g} prediction mismatches={mism} anomalies={int((sk[s] >= 0.5).sum())}")
