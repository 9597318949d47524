"""Train one small model of every bring-your-own-model kind with THIS interpreter's scikit-learn
and save each with pickle, joblib and (when skops is installed) skops.

Run it with the Python of the scikit-learn version you want the files to carry, e.g.
  model-tools/.venv/bin/python model-tools/scripts/make_byom_models.py --out /tmp/byom-1.7.2
  .local/sklearn-envs/1.3.2/bin/python model-tools/scripts/make_byom_models.py --out /tmp/byom-1.3.2
It writes <out>/<kind>.<pkl|joblib|skops>, <out>/train.csv and <out>/check.csv (2,000 rows each,
named feature columns in model column order plus `label`), and <out>/manifest.json (sklearn
version, files, kinds). Deterministic for a given seed and scikit-learn version. Tests and
benchmarks call it; nothing it writes is committed.
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import sklearn

# Names from the feature extractor's vocabulary (src/features/spec.ts), in model column order.
FEATURES = [
    "USDC_transfers",
    "USDC_value",
    "account_active_period_in_minutes",
    "max_single_token_transfers_count",
    "max_single_token_transfers_value",
    "tokens_type_counts",
    "transfer_counts",
]

KINDS = (
    "isolation_forest",
    "random_forest",
    "extra_trees",
    "gradient_boosting",
    "hist_gradient_boosting",
    "logistic_regression",
    "pipeline_standard_logistic",
    "pipeline_imputer_minmax_random_forest",
    "pipeline_standard_random_forest",
    "pipeline_robust_gradient_boosting",
    "pipeline_imputer_standard_hist_gradient_boosting",
)


def make_rows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Transaction-like rows: counts and heavy-tailed values; label 1 for 'exploit-like' rows."""
    usdc_t = rng.poisson(1.0, n) * (rng.random(n) < 0.4)
    usdc_v = np.round(np.exp(rng.normal(6, 3, n)) * (usdc_t > 0), 3)
    age = np.round(np.exp(rng.normal(8, 2.5, n)), 1)
    max_c = usdc_t + rng.poisson(1.5, n)
    max_v = np.round(np.exp(rng.normal(5, 3, n)), 3)
    types = 1 + rng.poisson(1.2, n)
    counts = max_c + rng.poisson(2.0, n)
    X = np.column_stack([usdc_t, usdc_v, age, max_c, max_v, types, counts]).astype(np.float64)
    logit = 0.9 * np.log1p(counts) + 0.6 * types - 0.35 * np.log1p(age) + 0.15 * np.log1p(max_v) - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return X, y


def build(kind: str, seed: int):
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        IsolationForest,
        RandomForestClassifier,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError:  # < 1.0
        from sklearn.experimental import enable_hist_gradient_boosting  # noqa: F401
        from sklearn.ensemble import HistGradientBoostingClassifier

    trees = dict(n_estimators=20, random_state=seed)
    return {
        "isolation_forest": lambda: IsolationForest(n_estimators=20, random_state=seed),
        "random_forest": lambda: RandomForestClassifier(max_depth=8, **trees),
        "extra_trees": lambda: ExtraTreesClassifier(max_depth=8, **trees),
        "gradient_boosting": lambda: GradientBoostingClassifier(max_depth=3, learning_rate=0.2, **trees),
        "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=15, random_state=seed),
        "logistic_regression": lambda: LogisticRegression(max_iter=2000),
        "pipeline_standard_logistic": lambda: Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=2000))]),
        "pipeline_imputer_minmax_random_forest": lambda: Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", MinMaxScaler()), ("clf", RandomForestClassifier(max_depth=8, **trees))]
        ),
        "pipeline_standard_random_forest": lambda: Pipeline([("scale", StandardScaler()), ("clf", RandomForestClassifier(max_depth=8, **trees))]),
        "pipeline_robust_gradient_boosting": lambda: Pipeline([("scale", RobustScaler()), ("clf", GradientBoostingClassifier(max_depth=3, **trees))]),
        "pipeline_imputer_standard_hist_gradient_boosting": lambda: Pipeline(
            [("impute", SimpleImputer(strategy="constant", fill_value=-1.0)), ("scale", StandardScaler()), ("clf", HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=15, random_state=seed))]
        ),
    }[kind]()


def write_csv(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*FEATURES, "label"])
        for row, label in zip(X, y):
            w.writerow([*(repr(float(v)) for v in row), int(label)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of: " + ", ".join(KINDS))
    ap.add_argument("--formats", default="pickle,joblib,skops")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    X, y = make_rows(rng, args.rows)
    Xc, yc = make_rows(rng, args.rows)
    write_csv(out / "train.csv", X, y)
    write_csv(out / "check.csv", Xc, yc)
    formats = args.formats.split(",")
    try:
        import skops.io as sio
    except ImportError:
        sio = None
    manifest = {"sklearn_version": sklearn.__version__, "numpy_version": np.__version__, "python": sys.version.split()[0], "features": FEATURES, "models": {}}
    for kind in args.kinds.split(","):
        model = build(kind, args.seed)
        Xt = X
        if "imputer" in kind:
            Xt = X.copy()
            Xt[rng.random(Xt.shape) < 0.05] = np.nan  # the imputer has something to do
        model.fit(Xt, y) if kind != "isolation_forest" else model.fit(Xt)
        files = {}
        for fmt in formats:
            if fmt == "pickle":
                p = out / f"{kind}.pkl"
                with open(p, "wb") as fh:
                    pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
            elif fmt == "joblib":
                import joblib

                p = out / f"{kind}.joblib"
                joblib.dump(model, p)
            elif fmt == "skops":
                if sio is None:
                    continue
                p = out / f"{kind}.skops"
                sio.dump(model, p)
            else:
                raise SystemExit(f"unknown format {fmt!r}")
            files[fmt] = p.name
        manifest["models"][kind] = files
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps({"out": str(out), "sklearn": sklearn.__version__, "models": len(manifest["models"])}))


if __name__ == "__main__":
    main()
