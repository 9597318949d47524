"""model.json, the model card: everything the TypeScript worker needs to accept or refuse a
model folder, plus the training-time reference distributions for drift checks.

Histograms everywhere use one convention: `edges` = [min, cut_1, ..., cut_k, max] and
`counts` has k + 1 entries; bin 0 is x <= cut_1, bin i is cut_i < x <= cut_{i+1}, the last is
x > cut_k (right-closed, open-ended at both ends; min/max are the observed range).
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import onnx_export
from .forest import Forest

FORMAT = "att-model/1"
SCORE_TRANSFORM = "abs_score_samples"
QUANTILES = {"p01": 0.01, "p05": 0.05, "p10": 0.10, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p90": 0.90, "p95": 0.95, "p99": 0.99, "p999": 0.999}
FEATURE_QUANTILE_CUTS = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999)
HISTOGRAM_SEMANTICS = "edges=[low, cut_1..cut_k, high]; counts[0]: x<=cut_1, counts[i]: cut_i<x<=cut_(i+1), counts[k]: x>cut_k; low/high only bound the observed range"
NON_TOKEN_TRANSFER_FEATURES = {"max_single_token_transfers"}


def now_version() -> tuple[str, str]:
    """(version, created_at): the ATT bot named model versions by creation unix time."""
    t = int(time.time())
    return str(t), datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tokens_from_features(features: list[str]) -> list[dict]:
    """`<SYM>_transfers` + `<SYM>_value` pairs name the tracked tokens (the ATT convention)."""
    names = set(features)
    out = []
    for f in features:
        if f.endswith("_transfers"):
            sym = f[: -len("_transfers")]
            if sym not in NON_TOKEN_TRANSFER_FEATURES and f"{sym}_value" in names:
                out.append({"symbol": sym})
    return out


def histogram_from_cuts(x: np.ndarray, cuts: np.ndarray, lo: float | None = None, hi: float | None = None) -> dict:
    """Right-closed histogram over inner `cuts`; outer edges are the range (observed unless given)."""
    x = np.asarray(x, dtype=np.float64)
    cuts = np.asarray(cuts, dtype=np.float64)
    counts = np.bincount(np.searchsorted(cuts, x, side="left"), minlength=len(cuts) + 1)
    first = float(min(x.min(), cuts[0])) if lo is None and len(cuts) else float(x.min() if lo is None else lo)
    last = float(max(x.max(), cuts[-1])) if hi is None and len(cuts) else float(x.max() if hi is None else hi)
    return {"edges": [first] + cuts.tolist() + [last], "counts": counts.tolist()}


def feature_histogram(x: np.ndarray) -> dict:
    """Histogram of a feature as the model sees it (float32): the cuts are float32 training
    values (inverted-CDF quantiles), so a reader binning fround(x) against the cuts, as the
    TypeScript drift monitor does, lands every training value in the bin counted here."""
    x32 = np.asarray(x, dtype=np.float32).astype(np.float64)
    cuts = np.unique(np.quantile(x32, FEATURE_QUANTILE_CUTS, method="inverted_cdf"))
    cuts = cuts[cuts < x32.max()]  # a cut at the maximum would leave an empty last bin
    return histogram_from_cuts(x32, cuts)


def score_stats(scores: np.ndarray, threshold: float) -> dict:
    scores = np.asarray(scores, dtype=np.float64)
    return {
        "anomaly_rate": float((scores >= threshold).mean()),
        "n_anomalies": int((scores >= threshold).sum()),
        "score_quantiles": {k: float(np.quantile(scores, q)) for k, q in QUANTILES.items()},
        "score_histogram": histogram_from_cuts(scores, np.round(np.linspace(0.02, 0.98, 49), 2), lo=0.0, hi=1.0),
    }


def library_versions(sklearn_version: str | None) -> dict:
    import numpy
    import onnx
    import onnxruntime
    import skl2onnx

    return {
        "sklearn": sklearn_version,
        "numpy": numpy.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "skl2onnx": skl2onnx.__version__,
        "python": platform.python_version(),
    }


def build_card(
    *,
    forest: Forest,
    version: str,
    created_at: str,
    threshold: float,
    token_match: str,
    tokens: list[dict],
    training: dict,
    source: dict,
    model_dir: Path,
) -> dict:
    if forest.feature_names is None:
        raise ValueError("the model card needs ordered feature names")
    return {
        "format": FORMAT,
        "version": version,
        "created_at": created_at,
        "algorithm": "IsolationForest",
        "source": source,
        "n_estimators": forest.n_trees,
        "max_samples": forest.max_samples,
        "max_depth": forest.max_depth(),
        "offset": forest.offset,
        "n_features": forest.n_features,
        "features": forest.feature_names,
        "token_match": token_match,
        "tokens": tokens,
        "score_transform": SCORE_TRANSFORM,
        "score_formula": "score = abs(score_samples) = 2^(-E[h(x)]/c(max_samples)); anomaly iff score >= threshold",
        "average_path_length_max_samples": forest.average_path_length_max_samples,
        "threshold": threshold,
        "training": training,
        "libraries": library_versions(forest.meta.get("sklearn_version")),
        "files": {name: {"sha256": sha256_file(model_dir / name), "bytes": (model_dir / name).stat().st_size} for name in ("model.onnx", "forest.json")},
        "onnx": {
            "input": onnx_export.INPUT,
            "input_shape": ["N", forest.n_features],
            "input_type": "float32",
            "outputs": list(onnx_export.OUTPUTS),
            "output_shape": ["N", 1],
            "opsets": dict(onnx_export.OPSETS),
            "ir_version": onnx_export.IR_VERSION,
        },
    }


def write_card(card: dict, model_dir: Path) -> None:
    (model_dir / "model.json").write_text(json.dumps(card, indent=2) + "\n")
