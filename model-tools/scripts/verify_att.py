"""Helper of verify-att-against-sklearn-1.1.sh: `rows` writes the test rows; `compare` prints,
per row set, the parity of att_model (exact scorer and compact ONNX) and of skl2onnx's own
conversion against scikit-learn 1.1's scores, and exits 1 if any comparison is off."""

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

THRESHOLD = 0.5
# Largest max |diff| of the normalized score (abs(score_samples)) accepted per comparison. The
# exact scorer repeats sklearn's float64 arithmetic; both ONNX graphs add float32 leaf values
# in onnxruntime (~3e-7 at most over 100 trees).
TOLERANCE = {("exact", "sklearn"): 1e-12, ("onnx", "sklearn"): 1e-6, ("skl2onnx", "sklearn"): 1e-6, ("onnx", "skl2onnx"): 1e-6}
PARTS = {"synthetic": slice(0, 20000), "synthetic+thresholds": slice(20000, 40000), "zeros+thresholds": slice(40000, 50000), "all": slice(None)}

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
    sys.exit(0)

X = np.load(work / "rows.npy")
sk = -np.load(work / "sklearn.npy")
sk_anomaly = np.load(work / "sklearn_predict.npy") == -1
export(forest, str(work / "model.onnx"))
ours_onnx, _ = onnx_scores(work / "model.onnx", X)
# skl2onnx's `scores` is decision_function = score_samples - offset_
skl2onnx = -(np.load(work / "skl2onnx_scores.npy").astype(np.float64) + float(np.load(work / "offset.npy")))
skl2onnx_anomaly = np.load(work / "skl2onnx_label.npy") == -1
scores = {"exact": forest.score(X), "onnx": ours_onnx, "skl2onnx": skl2onnx}

failures = []


def report(name: str, ref_name: str, got: np.ndarray, ref: np.ndarray, labels: tuple | None = None) -> None:
    tolerance = TOLERANCE[(name, ref_name)]
    for part, s in PARTS.items():
        d = np.abs(got[s] - ref[s])
        mism = int(((got[s] >= THRESHOLD) != (ref[s] >= THRESHOLD)).sum())
        line = f"{name:8s} vs {ref_name:8s} {part:22s} rows={len(d):6d} max|diff|={d.max():.3g} prediction mismatches={mism}"
        if labels is not None:
            # skl2onnx's own label output against sklearn's predict(), both -1 for an anomaly
            label_mism = int((labels[0][s] != labels[1][s]).sum())
            line += f" label mismatches={label_mism}"
            mism += label_mism
        print(f"{line} anomalies={int((ref[s] >= THRESHOLD).sum())}")
        if not d.max() <= tolerance or mism:
            failures.append(f"{name} vs {ref_name} {part}: max|diff| {d.max():.3g} (tolerance {tolerance:g}), {mism} mismatches")


report("exact", "sklearn", scores["exact"], sk)
report("onnx", "sklearn", scores["onnx"], sk)
report("skl2onnx", "sklearn", scores["skl2onnx"], sk, (skl2onnx_anomaly, sk_anomaly))
report("onnx", "skl2onnx", scores["onnx"], scores["skl2onnx"])

if failures:
    print("FAILED: " + "; ".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"OK: {len(X)} rows, every comparison within tolerance and every prediction identical")
