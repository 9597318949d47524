"""The part of `import` that needs the model's own scikit-learn: run by the Python of the venv
holding exactly the version the file was saved with (att_model/venvs.py), never by hand.

  <venv>/bin/python -m att_model.byom_worker --file F --saved-as pickle|joblib|skops --work DIR
      [--rows DIR/rows.npy] [--n-rows 2000] [--seed 1] [--positive-class V] [--score-kind K]
      [--reference-json FILE]

Loads the file through the allow-list (safe_pickle.load_model_file, build=True) with every
warning an error (an InconsistentVersionWarning can therefore never pass), checks what it holds,
converts it with skl2onnx (zipmap off, a `score` output added), scores the verification rows
with the estimator itself and writes into DIR: model.onnx, explain.json (when available),
rows.npy (the float32 rows), reference.npy (float64 scores of the original estimator),
info.json. Exit 2 with a Got/Expected/Fix message on anything it refuses.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from . import explain_data
from .safe_pickle import UnsafePickleError, UnsupportedModelError, load_model_file, refusal

INPUT = "features"
OPSETS = {"": 17, "ai.onnx.ml": 3}

KINDS = {
    "sklearn.ensemble._iforest.IsolationForest": "isolation_forest",
    "sklearn.ensemble._forest.RandomForestClassifier": "random_forest",
    "sklearn.ensemble._forest.ExtraTreesClassifier": "extra_trees",
    "sklearn.ensemble._gb.GradientBoostingClassifier": "gradient_boosting",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier": "hist_gradient_boosting",
    "sklearn.linear_model._logistic.LogisticRegression": "logistic_regression",
}
STEPS = {"StandardScaler", "MinMaxScaler", "RobustScaler", "SimpleImputer"}


class Refused(Exception):
    pass


def class_path(o) -> str:
    return f"{type(o).__module__}.{type(o).__name__}"


def _json_value(v):
    return v.item() if isinstance(v, np.generic) else v


def analyse(model, score_kind: str | None, positive_class: str | None) -> dict:
    import sklearn

    steps = []
    final = model
    if type(model).__name__ == "Pipeline":
        for name, step in model.steps[:-1]:
            if step is None or step == "passthrough":
                continue
            if type(step).__name__ not in STEPS:
                raise Refused(refusal(f"Pipeline step {name!r} is {class_path(step)}", "steps among StandardScaler, MinMaxScaler, RobustScaler, SimpleImputer before the estimator"))
            steps.append({"name": name, "class": class_path(step)})
        final = model.steps[-1][1]
    cls = class_path(final)
    kind = KINDS.get(cls)
    if kind is None:
        raise Refused(refusal(f"estimator {cls}", "one of " + ", ".join(sorted(KINDS))))
    if kind == "isolation_forest":
        if steps:
            raise Refused(refusal("an IsolationForest inside a Pipeline", "a bare IsolationForest (its compact path reads raw features)"))
        return {"kind": kind, "class": cls, "steps": [], "final": final, "pos_index": None, "positive_class": None, "score_kind": "anomaly_score", "method": "score_samples"}
    classes = list(final.classes_)
    if len(classes) != 2:
        raise Refused(refusal(f"a classifier with {len(classes)} classes {[_json_value(c) for c in classes]}", "a binary classifier (2 classes)", "Fix: train a one-vs-rest binary model for the class you want to detect"))
    if positive_class is None:
        pos_index = 1
    else:
        matches = [i for i, c in enumerate(classes) if str(_json_value(c)) == positive_class]
        if not matches:
            raise Refused(refusal(f"--positive-class {positive_class!r}", f"one of the model's classes {[_json_value(c) for c in classes]}"))
        pos_index = matches[0]
    sk = score_kind or "probability"
    if sk == "decision_function" and kind != "logistic_regression":
        raise Refused(refusal(f"--score-kind decision_function for {kind}", "decision_function only for logistic_regression (probability for every classifier)"))
    if sk not in ("probability", "decision_function"):
        raise Refused(refusal(f"--score-kind {sk} for a classifier", "probability or decision_function"))
    method = "predict_proba" if sk == "probability" else "decision_function"
    return {
        "kind": kind,
        "class": cls,
        "steps": steps,
        "final": final,
        "pos_index": pos_index,
        "positive_class": _json_value(classes[pos_index]),
        "classes": [_json_value(c) for c in classes],
        "score_kind": sk,
        "method": method,
        "sklearn": sklearn.__version__,
    }


def reference_scores(model, a: dict, X: np.ndarray) -> np.ndarray:
    X64 = X.astype(np.float32).astype(np.float64)
    if a["method"] == "predict_proba":
        return model.predict_proba(X64)[:, a["pos_index"]].astype(np.float64)
    d = model.decision_function(X64).astype(np.float64).ravel()
    return d if a["pos_index"] == 1 else -d


def generated_rows(model, a: dict, folded: explain_data.Folded, n_features: int, n: int, seed: int) -> np.ndarray:
    """Rows that exercise the model when no rows are given: per feature, values drawn around
    the split thresholds the trees use (in raw space), or around the scaler's mean/scale, or a
    standard normal; 2% NaN when an imputer or a NaN-aware tree is in front."""
    rng = np.random.default_rng(seed)
    final = a["final"]
    per_feature: dict[int, list[float]] = {}
    try:
        doc, _m, _s = explain_data.build_explain(final, a["kind"], folded, [f"x{i}" for i in range(n_features)], a["pos_index"], None, "zeros")
    except Exception:
        doc = None
    if doc is not None and doc["kind"] == "trees":
        for t in doc["trees"]:
            for f, thr in zip(t["feature"], t["threshold"]):
                if f >= 0:
                    per_feature.setdefault(f, []).append(thr)
    X = np.empty((n, n_features))
    if doc is not None and doc["kind"] == "linear":  # margins spread over about +-4 around the intercept
        coef = np.abs(np.asarray(doc["coef"], dtype=np.float64))
        centre = -folded.c / folded.a
        width = 2.0 / (np.where(coef > 0, coef, 1.0) * np.sqrt(n_features))
        X = centre + rng.normal(0, 1, (n, n_features)) * width
        if folded.impute is not None:
            X[rng.random(X.shape) < 0.02] = np.nan
        return X.astype(np.float32)
    for j in range(n_features):
        vals = np.asarray(per_feature.get(j, []), dtype=np.float64)
        if len(vals):
            lo, hi = vals.min(), vals.max()
            span = max(hi - lo, abs(hi), 1.0)
            picks = rng.choice(vals, n) + rng.normal(0, 0.05, n) * span * rng.random(n)
            X[:, j] = np.where(rng.random(n) < 0.1, rng.uniform(lo - 0.1 * span, hi + 0.1 * span, n), picks)
        elif folded.a[j] != 1.0 or folded.c[j] != 0.0:  # a scaler: around its centre, in its units
            mean = -folded.c[j] / folded.a[j]
            scale = 1.0 / folded.a[j]
            X[:, j] = mean + scale * rng.normal(0, 1.5, n)
        else:  # unknown scale: signed, log-uniform magnitudes 0.1 .. 1e4
            X[:, j] = rng.normal(0, 1, n) * 10.0 ** rng.uniform(-1, 4, n)
    if folded.impute is not None or a["kind"] == "hist_gradient_boosting":
        X[rng.random(X.shape) < 0.02] = np.nan
    return X.astype(np.float32)


#: Tree ensembles whose skl2onnx graph is rewritten for scikit-learn's exact routing.
EXACT_TREE_KINDS = ("random_forest", "extra_trees", "gradient_boosting", "hist_gradient_boosting")


def _exact_trees(onx, a: dict, folded: explain_data.Folded, n_features: int, steps: bool):
    """Rewrites skl2onnx's tree ensemble so a float32 row takes exactly scikit-learn's path:
    every split gets explain.json's raw-space threshold (the largest float32 x that scikit-learn,
    with its own preprocessing and casts, sends left; explain_data.raw_threshold32), and the
    preprocessing nodes before the ensemble are replaced by the imputation alone
    (Where(IsNaN(x), impute, x), float32 values as in explain.json): scalers are folded into the
    thresholds, so the trees read raw features. skl2onnx's own graph stores float32-nearest
    thresholds and scales in float32, which moves rows lying within a float32 ulp of a split."""
    import onnx
    from onnx import helper, numpy_helper

    final = a["final"]
    if a["kind"] == "hist_gradient_boosting":
        trees = [explain_data._hgb_tree_arrays(it[0], folded) for it in final._predictors]
    elif a["kind"] == "gradient_boosting":
        trees = [explain_data._sk_tree_arrays(est, None, 1.0, folded) for est in final.estimators_[:, 0]]
    else:
        trees = [explain_data._sk_tree_arrays(est, 0, 1.0, folded) for est in final.estimators_]
    ens = [n for n in onx.graph.node if n.op_type in ("TreeEnsembleClassifier", "TreeEnsembleRegressor")]
    if len(ens) != 1:
        raise Refused(refusal(f"a skl2onnx graph with {len(ens)} tree-ensemble nodes", "exactly one"))
    attrs = {at.name: at for at in ens[0].attribute}
    tids = list(attrs["nodes_treeids"].ints)
    nids = list(attrs["nodes_nodeids"].ints)
    feats = list(attrs["nodes_featureids"].ints)
    modes = [m.decode() if isinstance(m, bytes) else m for m in attrs["nodes_modes"].strings]
    values = list(attrs["nodes_values"].floats)
    for i, (t, nid, mode) in enumerate(zip(tids, nids, modes)):
        if mode == "LEAF":
            continue
        if mode != "BRANCH_LEQ" or trees[t]["feature"][nid] != feats[i]:
            raise Refused(refusal(f"a skl2onnx tree node (tree {t}, node {nid}, mode {mode}) that does not match the model's", "skl2onnx's node ids = scikit-learn's node ids, BRANCH_LEQ splits"))
        values[i] = trees[t]["threshold"][nid]
    del attrs["nodes_values"].floats[:]
    attrs["nodes_values"].floats.extend(values)
    if not steps:
        return onx
    z_name = ens[0].input[0]
    keep = _nodes_feeding(onx, ens[0])
    inits = []
    if folded.impute is not None:
        inits.append(numpy_helper.from_array(np.asarray(folded.impute, dtype=np.float32), "att_impute"))
        pre = [helper.make_node("IsNaN", [INPUT], ["att_nan"], name="att_isnan"), helper.make_node("Where", ["att_nan", "att_impute", INPUT], [z_name], name="att_impute_where")]
    else:
        pre = [helper.make_node("Identity", [INPUT], [z_name], name="att_raw_features")]
    rest = [n for i, n in enumerate(onx.graph.node) if i not in keep]
    del onx.graph.node[:]
    onx.graph.node.extend(pre + rest)
    used = {i for n in onx.graph.node for i in n.input}
    live = [t for t in onx.graph.initializer if t.name in used]
    del onx.graph.initializer[:]
    onx.graph.initializer.extend(live + inits)
    return onx


def _nodes_feeding(onx, target) -> set[int]:
    """Indices of the nodes that compute `target`'s first input (the preprocessing chain)."""
    nodes = list(onx.graph.node)
    producers = {o: i for i, n in enumerate(nodes) for o in n.output}
    seen: set[int] = set()
    stack = [target.input[0]]
    while stack:
        i = producers.get(stack.pop())
        if i is None or i in seen:
            continue
        seen.add(i)
        stack.extend(nodes[i].input)
    return seen


def convert(model, a: dict, n_features: int, folded: explain_data.Folded | None = None) -> tuple[bytes, list[str]]:
    import onnx
    from onnx import helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    options = {id(a["final"]): {"zipmap": False}}
    if a["score_kind"] == "decision_function":
        options[id(a["final"])]["raw_scores"] = True
    try:
        onx = convert_sklearn(model, initial_types=[(INPUT, FloatTensorType([None, n_features]))], options=options, target_opset=dict(OPSETS))
    except Exception as err:  # skl2onnx says what it cannot convert
        raise Refused(refusal(f"skl2onnx cannot convert this model: {type(err).__name__}: {err}", "a model skl2onnx converts (docs/model-formats.md)")) from None
    if a["kind"] in EXACT_TREE_KINDS:
        onx = _exact_trees(onx, a, folded, n_features, steps=bool(a["steps"]))
    outs = [o.name for o in onx.graph.output]
    prob = "probabilities" if "probabilities" in outs else outs[-1]
    idx = helper.make_tensor("att_score_index", onnx.TensorProto.INT64, [1], [a["pos_index"]])
    onx.graph.initializer.append(idx)
    onx.graph.node.append(helper.make_node("Gather", [prob, "att_score_index"], ["score"], axis=1, name="att_score"))
    onx.graph.output.append(helper.make_tensor_value_info("score", onnx.TensorProto.FLOAT, [None, 1]))
    opsets = sorted((o.domain, o.version) for o in onx.opset_import)  # stable bytes (set order varies)
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    onnx.checker.check_model(onx)
    return onx.SerializeToString(), [o.name for o in onx.graph.output]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m att_model.byom_worker")
    ap.add_argument("--file", required=True)
    ap.add_argument("--saved-as", required=True, choices=("pickle", "joblib", "skops"))
    ap.add_argument("--work", required=True)
    ap.add_argument("--rows")
    ap.add_argument("--n-rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--positive-class")
    ap.add_argument("--score-kind")
    ap.add_argument("--features-json", help="feature names (JSON list) when the estimator has no feature_names_in_")
    ap.add_argument("--reference-json", help="JSON list: E[x] per feature for the linear baseline (from marginals)")
    ap.add_argument("--describe", action="store_true", help="only write info.json: kind, class, steps, features, n_features")
    args = ap.parse_args(argv)
    work = Path(args.work)
    try:
        import sklearn

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # InconsistentVersionWarning (and any other) is an error
            model, names = load_model_file(args.file, args.saved_as, build=True)
        saved = getattr(model, "_sklearn_version", None)
        if saved is not None and saved != sklearn.__version__:
            raise Refused(refusal(f"a file saved by scikit-learn {saved}, loaded by {sklearn.__version__}", "the exact version (a bug in version selection)"))
        a = analyse(model, args.score_kind, args.positive_class)
        if a["kind"] == "isolation_forest":  # the compact att-model/1 path reads the trees itself
            import pickle

            (work / "isolation_forest.pkl").write_bytes(pickle.dumps(model, protocol=4))
            (work / "info.json").write_text(json.dumps({"kind": "isolation_forest", "sklearn_version": sklearn.__version__, "names": sorted({f"{m}.{n}" for m, n in names})}))
            return 0
        n_features = int(model.n_features_in_)
        fin = getattr(model, "feature_names_in_", None)
        features = [str(f) for f in fin] if fin is not None else (json.loads(args.features_json) if args.features_json else None)
        if fin is not None and args.features_json and json.loads(args.features_json) != features:
            raise Refused(refusal(f"feature names {json.loads(args.features_json)}", f"the model's own feature_names_in_ {features} (model column order)", "Fix: drop --features / --features-from (the file names its columns) or give them in that order"))
        if args.describe:
            described = {k: a.get(k) for k in ("kind", "class", "steps", "positive_class", "classes", "score_kind")}
            (work / "info.json").write_text(json.dumps({**described, "sklearn_version": sklearn.__version__, "n_features": n_features, "features": [str(f) for f in fin] if fin is not None else None}) + "\n")
            return 0
        if features is None:
            raise Refused(refusal("a model fitted on an unnamed array (no feature_names_in_) and no feature names given", f"{n_features} names", "Fix: give --features a,b,c (model column order) or --features-from CSV"))
        if len(features) != n_features:
            raise Refused(refusal(f"{len(features)} feature names for a model of {n_features} inputs", f"{n_features} names in model column order"))
        folded = explain_data.Folded(n_features)
        if type(model).__name__ == "Pipeline":
            for _name, step in model.steps[:-1]:
                if step is None or step == "passthrough":
                    continue
                try:
                    folded.add(step)
                except ValueError as err:
                    raise Refused(refusal(str(err), "StandardScaler / MinMaxScaler / RobustScaler / SimpleImputer(NaN) steps")) from None
            if any(step not in (None, "passthrough") for _n, step in model.steps[:-1]):
                folded.transform = model[:-1].transform
            if folded.impute is not None:
                folded.z_impute = np.asarray(model[:-1].transform(np.full((1, n_features), np.nan)), dtype=np.float64)[0]
        if args.rows:
            X = np.load(args.rows).astype(np.float32)
            rows_source = None
        else:
            X = generated_rows(model, a, folded, n_features, args.n_rows, args.seed)
            rows_source = "estimator"
        if X.ndim != 2 or X.shape[1] != n_features:
            raise Refused(refusal(f"verification rows of shape {list(X.shape)}", f"[N, {n_features}]"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ref = reference_scores(model, a, X)
        onnx_bytes, outputs = convert(model, a, n_features, folded)
        (work / "model.onnx").write_bytes(onnx_bytes)
        np.save(work / "rows.npy", X)
        np.save(work / "reference.npy", ref)
        reference = np.asarray(json.loads(Path(args.reference_json).read_text()), dtype=np.float64) if args.reference_json else None
        explain = explain_unavailable = None
        explain_check = None
        try:
            doc, method, space = explain_data.build_explain(a["final"], a["kind"], folded, features, a["pos_index"], reference, "marginals")
        except ValueError as err:
            doc, explain_unavailable = None, str(err)
        if doc is not None:
            X64 = X.astype(np.float64)
            if space == "probability":
                want = model.predict_proba(X64)[:, a["pos_index"]]
            else:
                want = model.decision_function(X64).ravel() * (1 if a["pos_index"] == 1 else -1)
            if doc.get("base_offset") is None:  # GradientBoosting: the init estimator's raw prediction
                doc["base_offset"] = 0.0
                offsets = want - explain_data.explained_value(doc, X64)
                if np.ptp(offsets) > 1e-9 * max(1.0, float(np.abs(offsets).max())):
                    raise Refused(refusal("a GradientBoosting init estimator whose raw prediction varies with the row", "init='zero' or the default prior (a constant)"))
                doc["base_offset"] = float(np.median(offsets))
            got = explain_data.explained_value(doc, X64)
            diff = np.abs(got - want)
            explain_check = {"rows": int(len(X)), "max_abs_diff": float(diff.max()), "space": space}
            if not (diff <= 1e-9 * np.maximum(1.0, np.abs(want))).all():
                bad = int((diff > 1e-9 * np.maximum(1.0, np.abs(want))).sum())
                doc, explain_unavailable = None, f"explain.json did not reproduce the model on {bad} of {len(X)} rows (max |diff| {float(diff.max()):.3g}); explanations withheld"
            else:
                (work / "explain.json").write_text(json.dumps(doc) + "\n")
                explain = {"file": "explain.json", "method": method, "space": space}
        import onnxruntime
        import skl2onnx

        info = {
            "kind": a["kind"],
            "class": a["class"],
            "steps": a["steps"],
            "sklearn_version": sklearn.__version__,
            "positive_class": a["positive_class"],
            "classes": a["classes"],
            "score_kind": a["score_kind"],
            "reference": f"scikit-learn {sklearn.__version__} {a['method']}",
            "features": features,
            "feature_names_from": "feature_names_in_" if fin is not None else "given",
            "n_features": n_features,
            "outputs": outputs,
            "rows_source": rows_source,
            "explain": explain,
            "explain_unavailable": explain_unavailable,
            "explain_check": explain_check,
            "names": sorted({f"{m}.{n}" for m, n in names}),
            "libraries": {"sklearn": sklearn.__version__, "numpy": np.__version__, "skl2onnx": skl2onnx.__version__, "onnxruntime": onnxruntime.__version__, "python": sys.version.split()[0]},
        }
        (work / "info.json").write_text(json.dumps(info, indent=2) + "\n")
        return 0
    except (Refused, UnsafePickleError, UnsupportedModelError) as err:
        print(f"att_model import: refused.\n{err}", file=sys.stderr)
        return 2
    except Warning as w:
        print(f"att_model import: refused.\n" + refusal(f"a warning while loading or scoring: {type(w).__name__}: {w}", "no warning (an InconsistentVersionWarning means the wrong scikit-learn)", "Fix: report it; the file was not accepted"), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
