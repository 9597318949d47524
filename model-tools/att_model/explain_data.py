"""explain.json (format att-explain/1) from a fitted scikit-learn estimator, and a plain-numpy
evaluator of it (the check that the file describes the model, and the SHAP reference values).

Runs in the model's own venv (any supported scikit-learn, numpy 1.24+): numpy and the standard
library only. See docs/model-formats.md ("explain.json").
"""

from __future__ import annotations

import itertools
import math

import numpy as np

FORMAT = "att-explain/1"


def float32_round_down(t: np.ndarray) -> np.ndarray:
    """Largest float32 <= t (float64): float32 x <= t  <=>  x <= round_down(t)."""
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(over="ignore"):
        f = t.astype(np.float32)
    too_big = f.astype(np.float64) > t
    f[too_big] = np.nextafter(f[too_big], np.float32(-np.inf))
    return f


def _json_float32(a: np.ndarray) -> list:
    out = []
    for v in np.asarray(a, dtype=np.float32):
        out.append(float(v) if np.isfinite(v) else (1e308 if v > 0 else -1e308))  # JSON has no inf
    return out


# ------------------------------------------------------------------------------------------
# preprocessing steps folded into raw feature space
class Folded:
    """z = a * x + c per feature after the preprocessing steps; impute[i] (raw space) replaces NaN."""

    def __init__(self, n: int):
        self.a = np.ones(n)
        self.c = np.zeros(n)
        self.impute: np.ndarray | None = None
        #: the imputed values after every step, as scikit-learn computes them (set by the worker:
        #: pipeline[:-1].transform of an all-NaN row); routes imputed values exactly
        self.z_impute: np.ndarray | None = None
        #: scikit-learn's preprocessing (pipeline[:-1].transform), for exact folded thresholds
        self.transform = None
        self.standard_mean_raw: np.ndarray | None = None

    def add(self, step) -> None:
        name = type(step).__name__
        if name == "StandardScaler":
            mean = step.mean_ if step.with_mean else np.zeros_like(self.a)
            scale = step.scale_ if step.with_std and step.scale_ is not None else np.ones_like(self.a)
            if step.with_mean and self.standard_mean_raw is None:
                self.standard_mean_raw = (np.asarray(mean, dtype=np.float64) - self.c) / self.a
            self._affine(1.0 / np.asarray(scale, dtype=np.float64), -np.asarray(mean, dtype=np.float64) / np.asarray(scale, dtype=np.float64))
        elif name == "MinMaxScaler":
            if getattr(step, "clip", False):
                raise ValueError("MinMaxScaler(clip=True) is not an affine map; refit with clip=False")
            self._affine(np.asarray(step.scale_, dtype=np.float64), np.asarray(step.min_, dtype=np.float64))
        elif name == "RobustScaler":
            center = step.center_ if step.with_centering else np.zeros_like(self.a)
            scale = step.scale_ if step.with_scaling else np.ones_like(self.a)
            self._affine(1.0 / np.asarray(scale, dtype=np.float64), -np.asarray(center, dtype=np.float64) / np.asarray(scale, dtype=np.float64))
        elif name == "SimpleImputer":
            if getattr(step, "add_indicator", False):
                raise ValueError("SimpleImputer(add_indicator=True) adds columns; refit with add_indicator=False")
            mv = step.missing_values
            if not (isinstance(mv, float) and math.isnan(mv)):
                raise ValueError(f"SimpleImputer(missing_values={mv!r}): only NaN is supported as the missing value")
            stats = np.asarray(step.statistics_, dtype=np.float64)
            if len(stats) != len(self.a) or not np.isfinite(stats).all():
                raise ValueError("SimpleImputer drops all-missing columns (statistics_ has NaN): the model input width would change")
            if self.impute is None:  # the first imputer replaces every NaN; later ones see none
                self.impute = (stats - self.c) / self.a
        else:
            raise ValueError(f"unsupported Pipeline step {type(step).__module__}.{name}")

    def _affine(self, s: np.ndarray, t: np.ndarray) -> None:
        # z' = s * z + t = s*a*x + s*c + t
        self.a, self.c = s * self.a, s * self.c + t
        if not (self.a > 0).all() or not np.isfinite(self.a).all():
            raise ValueError("a scaler maps a feature with a non-positive or infinite factor; thresholds cannot be folded")

    def raw_threshold(self, feature: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (t - self.c[feature]) / self.a[feature]

    def raw_threshold32(self, feature: np.ndarray, t: np.ndarray, cast32: bool) -> np.ndarray:
        """Largest float32 x with model(x) <= t, where model(x) is scikit-learn's own
        preprocessing (`self.transform`, set by the worker) of x, cast to float32 when the trees
        cast (cast32): a bisection over the ordered float32 bit patterns within 2^22 ulps of the
        algebraic fold. Without preprocessing it is round_down(t) directly."""
        if self.transform is None:
            return float32_round_down(t)
        x0 = float32_round_down(self.raw_threshold(feature, t))

        def key(x):  # float32 -> int64 preserving order
            b = np.asarray(x, dtype=np.float32).view(np.int32).astype(np.int64)
            return np.where(b < 0, -(b & 0x7FFFFFFF), b)

        def unkey(k):
            k = np.asarray(k, dtype=np.int64)
            b = np.where(k < 0, (-k) | np.int64(-0x80000000), k).astype(np.int64)
            return b.astype(np.int32).view(np.float32)

        def pred(k):
            x = unkey(k).astype(np.float64)
            rows = np.zeros((len(x), len(self.a)))
            rows[np.arange(len(x)), feature] = x
            z = np.asarray(self.transform(rows), dtype=np.float64)[np.arange(len(x)), feature]
            if cast32:
                z = z.astype(np.float32).astype(np.float64)
            return z <= t

        k0 = key(x0)
        lo, hi = k0 - (1 << 22), k0 + (1 << 22)
        lo = np.maximum(lo, key(np.float32(-3.4e38)))
        hi = np.minimum(hi, key(np.float32(3.4e38)))
        good = pred(lo) & ~pred(hi)
        for _ in range(24):
            mid = (lo + hi) // 2
            p = pred(mid)
            lo = np.where(p, mid, lo)
            hi = np.where(p, hi, mid)
        out = np.where(good, unkey(lo), x0)
        with np.errstate(invalid="ignore"):
            return out.astype(np.float32)

    def impute_json(self, round32: bool):
        if self.impute is None:
            return None
        return [float(v) for v in (np.asarray(self.impute, dtype=np.float32) if round32 else self.impute)]

    def pin_imputed_routes(self, feature: np.ndarray, t: np.ndarray, thr32: np.ndarray, inner: np.ndarray, cast32: bool) -> None:
        """Where a split sits between an imputed value and its float32 rounding, move the
        float32 threshold so the (float32-rounded) imputed value takes scikit-learn's branch."""
        if self.impute is None or self.z_impute is None:
            return
        imp32 = np.asarray(self.impute, dtype=np.float32)
        for i in np.flatnonzero(inner):
            f = feature[i]
            z = np.float32(self.z_impute[f]) if cast32 else self.z_impute[f]
            goes_left = float(z) <= t[i]
            if goes_left and thr32[i] < imp32[f]:
                thr32[i] = imp32[f]
            elif not goes_left and thr32[i] >= imp32[f]:
                thr32[i] = np.nextafter(imp32[f], np.float32(-np.inf))


# ------------------------------------------------------------------------------------------
def _sk_tree_arrays(tree, pos_index: int | None, scale: float, folded: Folded):
    t = tree.tree_
    left = t.children_left.astype(np.int64)
    right = t.children_right.astype(np.int64)
    feature = t.feature.astype(np.int64)
    leaf = left == -1
    feature[leaf] = -1
    state = t.__getstate__()
    nodes = state["nodes"]
    missing = nodes["missing_go_to_left"].astype(np.int64) if "missing_go_to_left" in nodes.dtype.names else np.zeros(len(left), dtype=np.int64)
    missing[leaf] = 0
    t_model = np.asarray(t.threshold, dtype=np.float64)
    inner = ~leaf
    thr32 = np.zeros(len(left), dtype=np.float32)
    thr32[inner] = folded.raw_threshold32(feature[inner], t_model[inner], cast32=True)  # trees cast their input to float32
    folded.pin_imputed_routes(feature, t_model, thr32, inner, cast32=True)
    thr32[leaf] = 0
    cover = np.asarray(t.weighted_n_node_samples, dtype=np.float64)
    v = np.asarray(t.value, dtype=np.float64)[:, 0, :]
    if pos_index is None:  # regressor leaf (GradientBoosting): value * learning_rate
        value = v[:, 0] * scale
    else:  # classifier: fraction of the positive class (counts in < 1.4, fractions after)
        value = v[:, pos_index] / v.sum(axis=1)
    value = _inner_means(left, right, cover, value)
    return {"left": left.tolist(), "right": right.tolist(), "feature": feature.tolist(), "threshold": _json_float32(thr32), "missing_left": missing.tolist(), "cover": cover.tolist(), "value": value.tolist()}


def _inner_means(left, right, cover, value):
    """Leaf values kept; each inner node's value := cover-weighted mean of its children."""
    value = np.array(value, dtype=np.float64)
    order = []
    stack = [0]
    while stack:
        i = stack.pop()
        order.append(i)
        if left[i] != -1:
            stack += [int(left[i]), int(right[i])]
    for i in reversed(order):
        if left[i] != -1:
            l, r = int(left[i]), int(right[i])
            value[i] = (cover[l] * value[l] + cover[r] * value[r]) / (cover[l] + cover[r])
    return value


def _hgb_tree_arrays(predictor, folded: Folded):
    nodes = predictor.nodes
    if "is_categorical" in nodes.dtype.names and nodes["is_categorical"].any():
        raise ValueError("HistGradientBoosting with categorical splits is not supported")
    leaf = nodes["is_leaf"].astype(bool)
    left = nodes["left"].astype(np.int64)
    right = nodes["right"].astype(np.int64)
    left[leaf] = -1
    right[leaf] = -1
    feature = nodes["feature_idx"].astype(np.int64)
    feature[leaf] = -1
    t_model = nodes["num_threshold"].astype(np.float64)
    inner = ~leaf
    thr32 = np.zeros(len(left), dtype=np.float32)
    thr32[inner] = folded.raw_threshold32(feature[inner], t_model[inner], cast32=False)  # HistGradientBoosting compares float64
    folded.pin_imputed_routes(feature, t_model, thr32, inner, cast32=False)
    thr32[leaf] = 0
    missing = nodes["missing_go_to_left"].astype(np.int64)
    missing[leaf] = 0
    cover = nodes["count"].astype(np.float64)
    value = _inner_means(left, right, cover, nodes["value"].astype(np.float64))
    return {"left": left.tolist(), "right": right.tolist(), "feature": feature.tolist(), "threshold": _json_float32(thr32), "missing_left": missing.tolist(), "cover": cover.tolist(), "value": value.tolist()}


def build_explain(final, kind: str, folded: Folded, features: list[str], pos_index: int, reference: np.ndarray | None, reference_source: str) -> tuple[dict, str, str]:
    """(explain.json document, method, space)."""
    n = len(features)
    base = {"format": FORMAT, "features": list(features), "n_features": n, "impute": folded.impute_json(round32=kind != "logistic_regression")}
    if kind in ("random_forest", "extra_trees"):
        trees = [_sk_tree_arrays(est, pos_index, 1.0, folded) for est in final.estimators_]
        return {**base, "kind": "trees", "aggregation": "mean", "base_offset": 0.0, "link": "identity", "trees": trees}, "tree_shap_path_dependent", "probability"
    if kind == "gradient_boosting":
        lr = float(final.learning_rate)
        trees = [_sk_tree_arrays(est, None, lr, folded) for est in final.estimators_[:, 0]]
        return {**base, "kind": "trees", "aggregation": "sum", "base_offset": None, "link": "logistic", "trees": trees}, "tree_shap_path_dependent", "margin"
    if kind == "hist_gradient_boosting":
        trees = [_hgb_tree_arrays(it[0], folded) for it in final._predictors]
        baseline = float(np.asarray(final._baseline_prediction, dtype=np.float64).ravel()[0])
        return {**base, "kind": "trees", "aggregation": "sum", "base_offset": baseline, "link": "logistic", "trees": trees}, "tree_shap_path_dependent", "margin"
    if kind == "logistic_regression":
        w = np.asarray(final.coef_, dtype=np.float64)[0]
        b = float(np.asarray(final.intercept_, dtype=np.float64)[0])
        coef = w * folded.a
        intercept = b + float(np.dot(w, folded.c))
        if pos_index == 0:  # decision_function is for classes_[1]; the positive class is classes_[0]
            coef, intercept = -coef, -intercept
        if folded.standard_mean_raw is not None:
            ref, ref_source = folded.standard_mean_raw, "scaler_mean"
        elif reference is not None:
            ref, ref_source = reference, reference_source
        else:
            ref, ref_source = np.zeros(n), "zeros"
        doc = {**base, "kind": "linear", "coef": coef.tolist(), "intercept": intercept, "reference": [float(v) for v in ref], "reference_source": ref_source, "link": "logistic"}
        return doc, "linear_exact", "margin"
    raise ValueError(f"no explanation data for {kind}")


# ------------------------------------------------------------------------------------------
# evaluation (checks and SHAP reference values)
def _prepare(doc: dict, X: np.ndarray) -> np.ndarray:
    X = np.array(X, dtype=np.float64, copy=True)
    if doc.get("impute") is not None:
        imp = np.asarray(doc["impute"], dtype=np.float64)
        nan = np.isnan(X)
        X[nan] = np.broadcast_to(imp, X.shape)[nan]
    return X


def _tree_leaf_value(t: dict, x: np.ndarray) -> float:
    i = 0
    left, right, feature, thr, miss, value = t["left"], t["right"], t["feature"], t["threshold"], t["missing_left"], t["value"]
    while left[i] != -1:
        v = x[feature[i]]
        if math.isnan(v):
            i = left[i] if miss[i] else right[i]
        else:
            i = left[i] if float(np.float32(v)) <= thr[i] else right[i]
    return value[i]


def explained_value(doc: dict, X: np.ndarray) -> np.ndarray:
    """The model output in the explained space (margin or probability), from explain.json alone."""
    X = _prepare(doc, X)
    if doc["kind"] == "linear":
        return X @ np.asarray(doc["coef"]) + doc["intercept"]
    out = np.zeros(len(X))
    for r, x in enumerate(X):
        s = sum(_tree_leaf_value(t, x) for t in doc["trees"])
        out[r] = s / len(doc["trees"]) if doc["aggregation"] == "mean" else s
    return out + (doc["base_offset"] or 0.0)


def _tree_expectation(t: dict, x: np.ndarray, known: set[int]) -> float:
    """E[tree | x_S] the path-dependent way: unknown features follow both children by cover."""

    def rec(i: int) -> float:
        if t["left"][i] == -1:
            return t["value"][i]
        f = t["feature"][i]
        l, r = t["left"][i], t["right"][i]
        if f in known:
            v = x[f]
            go_left = bool(t["missing_left"][i]) if math.isnan(v) else float(np.float32(v)) <= t["threshold"][i]
            return rec(l if go_left else r)
        cl, cr = t["cover"][l], t["cover"][r]
        return (cl * rec(l) + cr * rec(r)) / (cl + cr)

    return rec(0)


def shap_brute_force(doc: dict, x: np.ndarray) -> tuple[np.ndarray, float]:
    """(phi per feature, expected value) by the Shapley formula over every feature subset:
    exact path-dependent TreeSHAP for trees (what the shap package's tree_path_dependent
    computes), exact interventional attribution coef*(x - reference) for linear. Small n only."""
    x = _prepare(doc, np.asarray(x, dtype=np.float64)[None, :])[0]
    n = doc["n_features"]
    if doc["kind"] == "linear":
        coef = np.asarray(doc["coef"])
        ref = np.asarray(doc["reference"])
        return coef * (x - ref), float(coef @ ref + doc["intercept"])
    trees = doc["trees"]
    k = len(trees)
    scale = 1.0 / k if doc["aggregation"] == "mean" else 1.0

    def v(S: frozenset) -> float:
        return scale * sum(_tree_expectation(t, x, set(S)) for t in trees)

    used = sorted({f for t in trees for f in t["feature"] if f >= 0})
    cache: dict[frozenset, float] = {}

    def val(S):
        if S not in cache:
            cache[S] = v(S)
        return cache[S]

    phi = np.zeros(n)
    m = len(used)
    for j in used:
        others = [f for f in used if f != j]
        total = 0.0
        for size in range(m):
            w = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for S in itertools.combinations(others, size):
                s = frozenset(S)
                total += w * (val(s | {j}) - val(s))
        phi[j] = total
    return phi, val(frozenset()) + (doc["base_offset"] or 0.0)
