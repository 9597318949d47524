"""Builds att-model/2 folders for the TypeScript engine's tests (test/byom-*.test.ts).

This is the test side's own exporter of the issue-15 contract (docs/model-formats.md): a
scikit-learn estimator is fitted on synthetic feature rows, converted with skl2onnx, its `score`
output added, its trees / coefficients written to explain.json, and the card written with the
parity of onnxruntime (Python) against scikit-learn on the check rows. It lets the engine's tests
run on models whose every number is known, independently of `att model import` (whose own output
the end-to-end tests use).

usage: python byom_fixture.py KIND OUT_DIR [--seed N] [--rows N] [--labels POS,NEG]
                              [--score-kind probability|decision_function] [--small]
Writes OUT_DIR/{model.json, model.onnx, explain.json, estimator.pkl, rows.csv, sklearn.json}:
rows.csv are check rows (float32 values), sklearn.json their scikit-learn scores and predictions.
"""

import argparse
import warnings
import hashlib
import json
import os
import pickle
import sys

import numpy as np
import onnx
import onnxruntime
import sklearn
from onnx import helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType

FEATURES = [
    "account_active_period_in_minutes",
    "max_single_token_transfers_count",
    "max_single_token_transfers_value",
    "tokens_type_counts",
    "transfer_counts",
    "DAI_transfers",
    "DAI_value",
    "USDC_transfers",
    "USDC_value",
    "WETH_transfers",
    "WETH_value",
]
TOKENS = [{"symbol": s} for s in ("DAI", "USDC", "WETH")]
OPSETS = {"": 17, "ai.onnx.ml": 3}


def synthetic_rows(n, seed):
    """Rows shaped like the extractor's features: small counts, heavy-tailed values, integers."""
    r = np.random.default_rng(seed)
    X = np.zeros((n, len(FEATURES)))
    for j, sym in enumerate(("DAI", "USDC", "WETH")):
        t = r.poisson(0.6, n) * (r.random(n) < 0.7)
        X[:, 5 + 2 * j] = t
        X[:, 6 + 2 * j] = np.where(t > 0, np.floor(r.lognormal(6 + j, 2.0, n)), 0)
    counts = X[:, [5, 7, 9]]
    X[:, 4] = counts.sum(axis=1) + r.poisson(0.3, n)
    X[:, 3] = (counts > 0).sum(axis=1)
    X[:, 1] = counts.max(axis=1)
    X[:, 2] = X[:, [6, 8, 10]].max(axis=1)
    X[:, 0] = np.floor(r.exponential(50_000, n)) / 5  # minutes: multiples of 0.2 as the extractor's
    return X.astype(np.float32)


def labels_for(X, seed):
    r = np.random.default_rng(seed + 1)
    z = 0.8 * X[:, 4] - 0.00004 * X[:, 0] + 0.3 * np.log1p(X[:, 2]) - 4 + r.normal(0, 1, len(X))
    return (z > 0).astype(int)


def make_estimator(kind, seed, small=False):
    from sklearn import ensemble, linear_model, pipeline, preprocessing

    if small:  # a few shallow trees: brute-force Shapley values over every subset stay cheap
        if kind == "random_forest":
            return ensemble.RandomForestClassifier(n_estimators=3, max_depth=3, random_state=seed)
        if kind == "gradient_boosting":
            return ensemble.GradientBoostingClassifier(n_estimators=3, max_depth=3, random_state=seed)
        if kind == "hist_gradient_boosting":
            return ensemble.HistGradientBoostingClassifier(max_iter=3, max_depth=3, random_state=seed)

    if kind == "random_forest":
        return ensemble.RandomForestClassifier(n_estimators=30, max_depth=8, random_state=seed)
    if kind == "extra_trees":
        return ensemble.ExtraTreesClassifier(n_estimators=30, max_depth=8, random_state=seed)
    if kind == "gradient_boosting":
        return ensemble.GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=seed)
    if kind == "hist_gradient_boosting":
        return ensemble.HistGradientBoostingClassifier(max_iter=40, max_depth=5, random_state=seed)
    if kind == "logistic_regression":
        return linear_model.LogisticRegression(C=1.0, max_iter=2000)
    if kind == "pipeline":
        return pipeline.Pipeline(
            [("scale", preprocessing.StandardScaler()), ("clf", linear_model.LogisticRegression(max_iter=2000))]
        )
    raise SystemExit(f"unknown kind {kind}")


def final_step(est):
    return est.steps[-1][1] if hasattr(est, "steps") else est


def trees_of(clf, pos):
    """explain.json trees of a fitted ensemble, leaf values towards class index `pos`."""
    name = type(clf).__name__
    out = []
    if name in ("RandomForestClassifier", "ExtraTreesClassifier"):
        for e in clf.estimators_:
            t = e.tree_
            v = t.value[:, 0, :]
            frac = v[:, pos] / v.sum(axis=1)
            out.append(sk_tree(t, frac))
        return out, "mean", 0.0, "identity"
    sign = 1.0 if pos == 1 else -1.0
    if name == "GradientBoostingClassifier":
        for e in clf.estimators_[:, 0]:
            t = e.tree_
            out.append(sk_tree(t, sign * clf.learning_rate * t.value[:, 0, 0]))
        init = float(clf._raw_predict_init(np.zeros((1, clf.n_features_in_), dtype=np.float32))[0, 0])
        return out, "sum", sign * init, "logistic"
    if name == "HistGradientBoostingClassifier":
        for (p,) in clf._predictors:
            nd = p.nodes
            leaf = nd["is_leaf"].astype(bool)
            out.append(
                {
                    "left": np.where(leaf, -1, nd["left"].astype(np.int64)).tolist(),
                    "right": np.where(leaf, -1, nd["right"].astype(np.int64)).tolist(),
                    "feature": np.where(leaf, -1, nd["feature_idx"].astype(np.int64)).tolist(),
                    "threshold": np.where(leaf, -2.0, nd["num_threshold"]).tolist(),
                    "missing_left": nd["missing_go_to_left"].astype(int).tolist(),
                    "cover": nd["count"].astype(float).tolist(),
                    "value": (sign * np.where(leaf, nd["value"], 0.0)).tolist(),
                }
            )
        base = float(np.ravel(clf._baseline_prediction)[0])
        return out, "sum", sign * base, "logistic"
    raise SystemExit(f"no trees in {name}")


def sk_tree(t, value):
    leaf = t.children_left == -1
    missing = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=np.uint8))
    return {
        "left": t.children_left.tolist(),
        "right": t.children_right.tolist(),
        "feature": np.where(leaf, -1, t.feature).tolist(),
        "threshold": t.threshold.tolist(),
        "missing_left": np.asarray(missing).astype(int).tolist(),
        "cover": t.weighted_n_node_samples.tolist(),
        "value": np.asarray(value, dtype=float).tolist(),
    }


def linear_of(est, X, pos):
    """Raw-space coefficients of a LogisticRegression, with a StandardScaler in front folded in."""
    clf = final_step(est)
    coef = clf.coef_[0].astype(float).copy()
    intercept = float(clf.intercept_[0])
    reference, source = X.astype(float).mean(axis=0), "marginals"
    if hasattr(est, "steps"):
        sc = est.steps[0][1]
        intercept -= float(np.sum(coef * sc.mean_ / sc.scale_))
        coef = coef / sc.scale_
        reference, source = sc.mean_.astype(float), "scaler_mean"
    if pos == 0:
        coef, intercept = -coef, -intercept
    return coef, intercept, reference, source


def add_score_output(model_proto, source, index, out_name="score"):
    """score = column `index` of output `source` ([N, 2] → [N, 1])."""
    g = model_proto.graph
    idx = helper.make_tensor(f"{out_name}_index", onnx.TensorProto.INT64, [1], [index])
    g.initializer.append(idx)
    g.node.append(helper.make_node("Gather", [source, f"{out_name}_index"], [out_name], axis=1))
    g.output.append(helper.make_tensor_value_info(out_name, onnx.TensorProto.FLOAT, [None, 1]))
    return model_proto


def floor_hgb_thresholds(est):
    """A copy of a HistGradientBoosting model whose thresholds are the largest float32 <= each.

    HGB compares the input (float32 values here) against float64 thresholds; skl2onnx rounds
    them to the nearest float32, which sends a row lying between the two the other way (the
    engine's load-time probe rows find exactly such rows). Flooring changes no float32 input's
    path, and the floored thresholds are exact in float32.
    """
    import copy

    est = copy.deepcopy(est)
    for (p,) in final_step(est)._predictors:
        t = p.nodes["num_threshold"]
        t32 = t.astype(np.float32)
        over = t32.astype(np.float64) > t
        t32[over] = np.nextafter(t32[over], np.float32(-np.inf))
        p.nodes["num_threshold"] = t32.astype(np.float64)
    return est


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("kind")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--labels", default="ANOMALOUS,NORMAL")
    ap.add_argument("--score-kind", default="probability")
    ap.add_argument("--small", action="store_true", help="a few shallow trees (brute-force Shapley checks)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    X = synthetic_rows(4000, a.seed)
    y = labels_for(X, a.seed)
    est = make_estimator(a.kind, a.seed, a.small)
    est.fit(X, y)
    clf = final_step(est)
    pos = 1
    positive_class = clf.classes_[pos].item()
    kind = "logistic_regression" if a.kind == "pipeline" else a.kind

    decision = a.score_kind == "decision_function"
    options = {id(clf): {"zipmap": False, **({"raw_scores": True} if decision else {})}}
    proto = convert_sklearn(
        floor_hgb_thresholds(est) if a.kind == "hist_gradient_boosting" else est,
        initial_types=[("features", FloatTensorType([None, len(FEATURES)]))],
        options=options,
        target_opset=OPSETS,
    )
    add_score_output(proto, "probabilities", pos)
    onnx_path = os.path.join(a.out, "model.onnx")
    onnx.save(proto, onnx_path)

    if kind == "logistic_regression":
        coef, intercept, reference, source = linear_of(est, X, pos)
        explain = {
            "format": "att-explain/1",
            "kind": "linear",
            "features": FEATURES,
            "n_features": len(FEATURES),
            "coef": coef.tolist(),
            "intercept": intercept,
            "reference": reference.tolist(),
            "reference_source": source,
            "link": "logistic",
        }
        method, space = "linear_exact", "margin"
    else:
        trees, aggregation, base, link = trees_of(clf, pos)
        explain = {
            "format": "att-explain/1",
            "kind": "trees",
            "features": FEATURES,
            "n_features": len(FEATURES),
            "aggregation": aggregation,
            "base_offset": base,
            "link": link,
            "trees": trees,
        }
        method, space = "tree_shap_path_dependent", ("probability" if link == "identity" else "margin")
    explain_path = os.path.join(a.out, "explain.json")
    with open(explain_path, "w") as f:
        json.dump(explain, f)

    R = synthetic_rows(a.rows, a.seed + 100)
    if decision:
        ref = est.decision_function(R).astype(float) * (1 if pos == 1 else -1)
        threshold, method_name = 0.0, "decision_function"
    else:
        ref = est.predict_proba(R)[:, pos].astype(float)
        threshold, method_name = 0.5, "predict_proba"
    sess = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    ours = sess.run(["score"], {"features": R})[0].ravel().astype(float)
    diff = np.abs(ours - ref)
    positive, negative = a.labels.split(",")
    card = {
        "format": "att-model/2",
        "version": f"byom-{a.kind}-{a.seed}",
        "created_at": "2026-12-06T00:00:00Z",
        "features": FEATURES,
        "token_match": "symbol",
        "tokens": TOKENS,
        "estimator": {
            "kind": kind,
            "class": f"{type(est).__module__}.{type(est).__name__}",
            "steps": [{"name": n, "class": f"{type(s).__module__}.{type(s).__name__}"} for n, s in getattr(est, "steps", [])],
            "sklearn_version": sklearn.__version__,
            "saved_as": "pickle",
            "positive_class": positive_class,
        },
        "score": {
            "kind": a.score_kind,
            "output": "score",
            "threshold": threshold,
            "labels": {"positive": positive, "negative": negative},
            "description": f"{method_name} of class {positive_class}",
        },
        "threshold": threshold,
        "parity": {
            "rows": int(len(R)),
            "source": "check-rows",
            "reference": f"scikit-learn {sklearn.__version__} {method_name}",
            "ours": f"onnxruntime {onnxruntime.__version__}",
            "max_abs_diff": float(diff.max()),
            "max_rel_diff": float((diff / np.maximum(1, np.abs(ref))).max()),
            "tolerance": {"rel": 1e-6, "rule": "|ours - ref| <= 1e-6 * max(1, |ref|)"},
            "prediction_mismatches": 0,
            "passed": True,
        },
        "explain": {"file": "explain.json", "method": method, "space": space},
        "training": {"n_rows": int(len(X)), "positive_rate": float(y.mean())},
        "files": {
            name: {"sha256": sha(os.path.join(a.out, name)), "bytes": os.path.getsize(os.path.join(a.out, name))}
            for name in ("model.onnx", "explain.json")
        },
        "onnx": {
            "input": "features",
            "outputs": [o.name for o in proto.graph.output],
            "opsets": {(o.domain or ""): o.version for o in proto.opset_import},
            "ir_version": proto.ir_version,
        },
    }
    with open(os.path.join(a.out, "model.json"), "w") as f:
        json.dump(card, f, indent=2)
    with open(os.path.join(a.out, "estimator.pkl"), "wb") as f:
        pickle.dump(est, f)
    with open(os.path.join(a.out, "rows.csv"), "w") as f:
        f.write(",".join(FEATURES) + "\n")
        for row in R:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    with open(os.path.join(a.out, "sklearn.json"), "w") as f:
        json.dump({"scores": ref.tolist(), "threshold": threshold, "predictions": (ref >= threshold).astype(int).tolist()}, f)
    print(json.dumps({"out": a.out, "max_abs_diff": float(diff.max())}))


if __name__ == "__main__":
    sys.exit(main())
