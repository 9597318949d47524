"""Bring your own model (issue 15): every estimator kind trained in two scikit-learn versions
(the pinned 1.7.2 and 1.3.2, whose venv is created under .local/sklearn-envs on first use and
cached), saved with pickle, joblib and skops, imported through the CLI; parity, card fields,
explain.json against the model; and the refusals (allow-list, multi-class, versions, warnings,
parity)."""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from att_model import explain_data, venvs

from .test_cli import REPO, att_model

OLD = "1.3.2"
PINNED = venvs.tooling_sklearn_version()
SCRIPT = REPO / "model-tools" / "scripts" / "make_byom_models.py"
CLASSIFIER_KINDS = [
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
]
FORMATS = {"pickle": "pkl", "joblib": "joblib", "skops": "skops"}
EXPECTED = {
    "random_forest": ("random_forest", "sklearn.ensemble._forest.RandomForestClassifier", []),
    "extra_trees": ("extra_trees", "sklearn.ensemble._forest.ExtraTreesClassifier", []),
    "gradient_boosting": ("gradient_boosting", "sklearn.ensemble._gb.GradientBoostingClassifier", []),
    "hist_gradient_boosting": ("hist_gradient_boosting", "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier", []),
    "logistic_regression": ("logistic_regression", "sklearn.linear_model._logistic.LogisticRegression", []),
    "pipeline_standard_logistic": ("logistic_regression", "sklearn.linear_model._logistic.LogisticRegression", ["StandardScaler"]),
    "pipeline_imputer_minmax_random_forest": ("random_forest", "sklearn.ensemble._forest.RandomForestClassifier", ["SimpleImputer", "MinMaxScaler"]),
    "pipeline_standard_random_forest": ("random_forest", "sklearn.ensemble._forest.RandomForestClassifier", ["StandardScaler"]),
    "pipeline_robust_gradient_boosting": ("gradient_boosting", "sklearn.ensemble._gb.GradientBoostingClassifier", ["RobustScaler"]),
    "pipeline_imputer_standard_hist_gradient_boosting": ("hist_gradient_boosting", "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier", ["SimpleImputer", "StandardScaler"]),
}


def python_of(version: str) -> str:
    return sys.executable if version == PINNED else venvs.python_for(version)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = {}
    for version in (PINNED, OLD):
        d = tmp_path_factory.mktemp(f"byom-{version}")
        subprocess.run([python_of(version), str(SCRIPT), "--out", str(d)], check=True, capture_output=True, text=True)
        manifest = json.loads((d / "manifest.json").read_text())
        assert manifest["sklearn_version"] == version
        out[version] = d
    return out


def read_rows(path: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    with open(path) as fh:
        recs = list(csv.DictReader(fh))
    return np.array([[float(r[n]) for n in names] for r in recs]), np.array([int(r["label"]) for r in recs])


def onnx_scores(folder: Path, X: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    (s,) = sess.run(["score"], {"features": X.astype(np.float32)})
    return s.reshape(len(X)).astype(np.float64)


def import_ok(*args) -> dict:
    out = att_model("import", *args, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.mark.parametrize("version", [PINNED, OLD])
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("kind", CLASSIFIER_KINDS)
def test_every_kind_imports_with_parity_and_explanations(models, tmp_path, version, fmt, kind):
    d = models[version]
    src = d / f"{kind}.{FORMATS[fmt]}"
    folder = tmp_path / "m"
    import_ok(src, "--out", folder, "--features-from", d / "check.csv", "--check-rows", d / "check.csv", "--version", "v1")
    card = json.loads((folder / "model.json").read_text())
    want_kind, want_class, want_steps = EXPECTED[kind]
    assert card["format"] == "att-model/2" and card["version"] == "v1"
    est = card["estimator"]
    assert (est["kind"], est["class"], est["sklearn_version"], est["saved_as"], est["positive_class"]) == (want_kind, want_class, version, fmt, 1)
    assert [s["class"].rsplit(".", 1)[1] for s in est["steps"]] == want_steps
    assert card["score"]["kind"] == "probability" and card["score"]["threshold"] == card["threshold"] == 0.5
    assert card["score"]["labels"] == {"positive": "ANOMALOUS", "negative": "NORMAL"} and card["score"]["output"] == "score"
    p = card["parity"]
    assert p["passed"] and p["rows"] == 2000 and p["source"] == "check-rows" and p["prediction_mismatches"] == 0
    assert p["max_rel_diff"] <= 1e-6 and p["reference"] == f"scikit-learn {version} predict_proba" and p["tolerance"]["rel"] == 1e-6
    assert card["onnx"]["input"] == "features" and "score" in card["onnx"]["outputs"] and card["onnx"]["input_shape"] == ["N", 7]
    for name, f in card["files"].items():
        assert hashlib_sha256(folder / name) == f["sha256"]
    assert set(card["files"]) == {"model.onnx", "explain.json"}
    # the folder's model.onnx scores the rows like the model (the card's claim, re-measured here)
    X, _y = read_rows(d / "check.csv", card["features"])
    ours = onnx_scores(folder, X)
    # explain.json reproduces the model output in its space (probability, or the margin under the link)
    doc = json.loads((folder / "explain.json").read_text())
    assert doc["format"] == "att-explain/1" and doc["features"] == card["features"]
    v = explain_data.explained_value(doc, X.astype(np.float32).astype(np.float64))
    prob = v if card["explain"]["space"] == "probability" else 1 / (1 + np.exp(-v))
    assert np.abs(prob - ours).max() <= 1e-6
    assert card["explain"]["method"] == ("linear_exact" if want_kind == "logistic_regression" else "tree_shap_path_dependent")
    assert card["explain"]["space"] == ("probability" if want_kind in ("random_forest", "extra_trees") else "margin")


def hashlib_sha256(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("version", [PINNED, OLD])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_isolation_forest_keeps_the_compact_att_model_1_path(models, tmp_path, version, fmt):
    d = models[version]
    folder = tmp_path / "m"
    import_ok(d / f"isolation_forest.{FORMATS[fmt]}", "--out", folder, "--features-from", d / "check.csv", "--version", "v1")
    card = json.loads((folder / "model.json").read_text())
    assert card["format"] == "att-model/1" and set(card["files"]) == {"model.onnx", "forest.json"}
    assert card["source"]["pickle_sklearn_version"] == version
    assert card["source"]["kind"] == ("imported_pickle" if fmt == "pickle" else f"imported_{fmt}")
    # scores equal the model's own |score_samples| (computed in its own scikit-learn)
    X, _ = read_rows(d / "check.csv", card["features"])
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    code = (
        "import pickle, numpy as np, sys; m = pickle.load(open(sys.argv[1], 'rb')); "
        "X = np.load(sys.argv[2]).astype(np.float64); np.save(sys.argv[3], -m.score_samples(X))"
    )
    subprocess.run([python_of(version), "-c", code, str(d / "isolation_forest.pkl"), str(tmp_path / "X.npy"), str(tmp_path / "ref.npy")], check=True)
    ref = np.load(tmp_path / "ref.npy")
    ours = onnx_scores_att1(folder, X)
    assert np.abs(ours - ref).max() <= 1e-6


def onnx_scores_att1(folder: Path, X: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    return sess.run(["score"], {"features": X.astype(np.float32)})[0].ravel().astype(np.float64)


@pytest.mark.parametrize("version", [PINNED, OLD])
def test_rows_generated_from_the_estimator_when_none_are_given(models, tmp_path, version):
    d = models[version]
    for kind in ("pipeline_imputer_standard_hist_gradient_boosting", "pipeline_standard_logistic", "gradient_boosting"):
        import_ok(d / f"{kind}.joblib", "--out", tmp_path / kind, "--features-from", d / "check.csv", "--version", "v1")
        p = json.loads((tmp_path / kind / "model.json").read_text())["parity"]
        assert p["passed"] and p["source"] == "estimator" and p["rows"] == 2000


def test_marginals_rows_and_linear_reference(models, tmp_path):
    d = models[PINNED]
    X, _ = read_rows(d / "train.csv", json.loads((d / "manifest.json").read_text())["features"])
    names = json.loads((d / "manifest.json").read_text())["features"]
    feats = {}
    for j, n in enumerate(names):
        edges = np.unique(np.quantile(X[:, j], [0, 0.25, 0.5, 0.75, 1]))
        b = np.clip(np.searchsorted(edges[1:-1], X[:, j], side="left"), 0, len(edges) - 2)
        feats[n] = {
            "bin_freq": [float((b == i).mean()) for i in range(len(edges) - 1)],
            "bin_mean": [float(X[b == i, j].mean()) if (b == i).any() else float(edges[i]) for i in range(len(edges) - 1)],
            "bin_std": [0.0] * (len(edges) - 1),
            "bin_min": [float(e) for e in edges[:-1]],
            "bin_max": [float(e) for e in edges[1:]],
        }
    mg = tmp_path / "marginals.json"
    mg.write_text(json.dumps({"n_samples": len(X), "source": "test", "features": feats}))
    import_ok(d / "logistic_regression.pkl", "--out", tmp_path / "m", "--features-from", d / "check.csv", "--marginals", mg, "--version", "v1")
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["parity"]["source"] == "marginals" and card["parity"]["passed"]
    doc = json.loads((tmp_path / "m" / "explain.json").read_text())
    assert doc["reference_source"] == "marginals"
    assert np.allclose(doc["reference"], [sum(f * m for f, m in zip(feats[n]["bin_freq"], feats[n]["bin_mean"])) for n in names])


@pytest.mark.parametrize("version", [PINNED, OLD])
def test_decision_function_threshold_and_labels(models, tmp_path, version):
    d = models[version]
    import_ok(d / "pipeline_standard_logistic.skops", "--out", tmp_path / "m", "--features-from", d / "check.csv", "--check-rows", d / "check.csv",
              "--score-kind", "decision_function", "--labels", "EXPLOIT,BENIGN", "--version", "v1")  # fmt: skip
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["score"]["kind"] == "decision_function" and card["threshold"] == 0.0
    assert card["score"]["labels"] == {"positive": "EXPLOIT", "negative": "BENIGN"}
    assert card["parity"]["reference"] == f"scikit-learn {version} decision_function" and card["parity"]["passed"]
    X, _ = read_rows(d / "check.csv", card["features"])
    doc = json.loads((tmp_path / "m" / "explain.json").read_text())
    assert doc["reference_source"] == "scaler_mean"
    ours = onnx_scores(tmp_path / "m", X)
    assert (np.abs(explain_data.explained_value(doc, X.astype(np.float32).astype(np.float64)) - ours) <= 1e-6 * np.maximum(1, np.abs(ours))).all()


def test_positive_class_and_threshold_options(models, tmp_path):
    d = models[PINNED]
    import_ok(d / "random_forest.pkl", "--out", tmp_path / "m", "--features-from", d / "check.csv", "--positive-class", "0", "--threshold", "0.7", "--version", "v1")
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["estimator"]["positive_class"] == 0 and card["threshold"] == 0.7 and card["parity"]["passed"]
    X, _ = read_rows(d / "check.csv", card["features"])
    doc = json.loads((tmp_path / "m" / "explain.json").read_text())
    assert np.abs(explain_data.explained_value(doc, X.astype(np.float32).astype(np.float64)) - onnx_scores(tmp_path / "m", X)).max() <= 1e-6


def test_score_and_inspect_handle_att_model_2(models, tmp_path):
    d = models[OLD]
    import_ok(d / "hist_gradient_boosting.joblib", "--out", tmp_path / "m", "--features-from", d / "check.csv", "--labels", "EXPLOIT,BENIGN", "--version", "v1")
    X, _ = read_rows(d / "check.csv", json.loads((tmp_path / "m" / "model.json").read_text())["features"])
    lines = [json.loads(line) for line in att_model("score", "--model", tmp_path / "m", "--input", d / "check.csv").stdout.splitlines()]
    ours = onnx_scores(tmp_path / "m", X)
    got = np.array([r["score"] for r in lines])
    assert np.abs(got - ours).max() <= 1e-6  # both onnxruntime; thread counts may change the summation order
    assert [r["prediction"] for r in lines] == ["EXPLOIT" if v >= 0.5 else "BENIGN" for v in got]
    card = json.loads(att_model("inspect", tmp_path / "m").stdout)
    assert card["estimator"]["sklearn_version"] == OLD and card["parity"]["passed"]
    facts = json.loads(att_model("inspect", d / "pipeline_standard_logistic.joblib").stdout)
    assert facts["sklearn_version"] == OLD and facts["top_level"] == "sklearn.pipeline.Pipeline" and facts["not_on_allow_list"] == []


@pytest.mark.parametrize("kind", ["hist_gradient_boosting", "pipeline_standard_random_forest", "pipeline_imputer_standard_hist_gradient_boosting"])
def test_rows_on_every_split_threshold_score_like_scikit_learn(models, tmp_path, kind):
    """The graph's thresholds are explain.json's exact raw-space ones: rows placed on every
    threshold and one float32 ulp either side take scikit-learn's branch (skl2onnx's own graph,
    float32-nearest thresholds and float32 scaling, sends some of them the other way)."""
    d = models[PINNED]
    import_ok(d / f"{kind}.pkl", "--out", tmp_path / "m", "--features-from", d / "check.csv", "--version", "v1")
    doc = json.loads((tmp_path / "m" / "explain.json").read_text())
    rows = []
    for t in doc["trees"]:
        for f, th in zip(t["feature"], t["threshold"]):
            if f >= 0:
                for v in (np.float32(th), np.nextafter(np.float32(th), np.float32(np.inf)), np.nextafter(np.float32(th), np.float32(-np.inf))):
                    r = np.zeros(doc["n_features"], dtype=np.float32)
                    r[f] = v
                    rows.append(r)
    X = np.array(rows, dtype=np.float32)
    np.save(tmp_path / "X.npy", X)
    code = (
        "import pickle, numpy as np, sys; m = pickle.load(open(sys.argv[1], 'rb')); "
        "X = np.load(sys.argv[2]).astype(np.float64); np.save(sys.argv[3], m.predict_proba(X)[:, 1])"
    )
    subprocess.run([sys.executable, "-c", code, str(d / f"{kind}.pkl"), str(tmp_path / "X.npy"), str(tmp_path / "ref.npy")], check=True)
    ref = np.load(tmp_path / "ref.npy")
    assert np.abs(onnx_scores(tmp_path / "m", X) - ref).max() <= 1e-6
    v = explain_data.explained_value(doc, X.astype(np.float64))
    assert np.abs((v if doc["link"] == "identity" else 1 / (1 + np.exp(-v))) - ref).max() <= 1e-9


# ---------------------------------------------------------------------------------------------
# refusals
def refused(*args) -> str:
    out = att_model("import", *args, check=False)
    assert out.returncode == 2, (out.returncode, out.stderr[-3000:])
    assert "Got:" in out.stderr and "Expected:" in out.stderr and "Fix:" in out.stderr, out.stderr
    return out.stderr


class _Payload:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


@pytest.mark.parametrize("fmt", ["pickle", "joblib"])
@pytest.mark.parametrize("target", ["os.system", "builtins.eval"])
def test_a_file_naming_a_dangerous_callable_is_refused_without_running_it(tmp_path, fmt, target):
    marker = tmp_path / "pwned"
    if target == "os.system":
        payload = _Payload(os.system, f"touch {marker}")
    else:
        payload = _Payload(eval, f"open({str(marker)!r}, 'w').close()")
    model = {"estimator": payload, "coef": np.arange(3.0)}  # the arrays make joblib write its side format
    f = tmp_path / f"evil.{FORMATS[fmt]}"
    if fmt == "pickle":
        f.write_bytes(pickle.dumps(model))
    else:
        import joblib

        joblib.dump(model, f)
    # control: plain loading really runs it
    control = tmp_path / "control"
    ctrl_payload = _Payload(os.system, f"touch {control}") if target == "os.system" else _Payload(eval, f"open({str(control)!r}, 'w').close()")
    pickle.loads(pickle.dumps(ctrl_payload))
    assert control.exists()
    err = refused(f, "--out", tmp_path / "m", "--features", "a,b,c")
    named = "posix.system" if target == "os.system" else "builtins.eval"
    assert f"'{named}'" in err and "not on the allow-list" in err
    assert not marker.exists()
    assert not (tmp_path / "m").exists()


def test_a_pickle_naming_a_class_outside_the_allow_list_is_refused_by_name(tmp_path):
    from sklearn.svm import SVC

    X = np.random.default_rng(0).normal(size=(60, 3))
    f = tmp_path / "svc.pkl"
    f.write_bytes(pickle.dumps(SVC().fit(X, X[:, 0] > 0)))
    err = refused(f, "--out", tmp_path / "m", "--features", "a,b,c")
    assert "'sklearn.svm._classes.SVC'" in err


def test_a_skops_file_with_an_untrusted_type_is_refused_by_name(tmp_path):
    import skops.io as sio
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(60, 3))
    pipe = Pipeline([("f", FunctionTransformer(np.log1p)), ("clf", LogisticRegression())]).fit(np.abs(X), X[:, 0] > 0)
    f = tmp_path / "m.skops"
    sio.dump(pipe, f)
    err = refused(f, "--out", tmp_path / "m", "--features", "a,b,c")
    assert "not on the allow-list" in err and "sklearn.preprocessing._function_transformer.FunctionTransformer" in err and "numpy.log1p" in err or "FunctionTransformer" in err
    assert not (tmp_path / "m").exists()


def test_a_skops_file_with_a_type_of_its_own_is_refused_by_name(tmp_path):
    import skops.io as sio

    f = tmp_path / "m.skops"
    sio.dump({"model": Fraction(1, 3)}, f)
    err = refused(f, "--out", tmp_path / "m", "--features", "a,b,c")
    assert "fractions.Fraction" in err


def test_multiclass_and_unsupported_steps_are_refused_with_the_reason(tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    f = tmp_path / "multi.pkl"
    f.write_bytes(pickle.dumps(RandomForestClassifier(n_estimators=3, random_state=0).fit(X, rng.integers(0, 3, 200))))
    err = refused(f, "--out", tmp_path / "m", "--features", "a,b,c")
    assert "3 classes" in err and "binary" in err
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline

    f2 = tmp_path / "pca.pkl"
    f2.write_bytes(pickle.dumps(Pipeline([("pca", PCA(2)), ("rf", RandomForestClassifier(n_estimators=3, random_state=0))]).fit(X, X[:, 0] > 0)))
    err = refused(f2, "--out", tmp_path / "m2", "--features", "a,b,c")
    assert "'sklearn.decomposition._pca.PCA'" in err


def test_a_version_outside_the_pin_table_is_refused(models, tmp_path):
    raw = (models[PINNED] / "random_forest.pkl").read_bytes()
    assert raw.count(PINNED.encode()) > 0
    f = tmp_path / "future.pkl"
    f.write_bytes(raw.replace(PINNED.encode(), b"9.9.9"))
    err = refused(f, "--out", tmp_path / "m", "--features-from", models[PINNED] / "check.csv")
    assert "scikit-learn 9.9.9" in err


def test_the_worker_treats_an_inconsistent_version_warning_as_an_error(models, tmp_path):
    # a 1.3.2 file loaded by the pinned scikit-learn: what happens without the per-version venv
    out = subprocess.run([sys.executable, "-m", "att_model.byom_worker", "--file", str(models[OLD] / "random_forest.pkl"), "--saved-as", "pickle",
                          "--work", str(tmp_path), "--features-json", json.dumps([f"f{i}" for i in range(7)])], capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 2 and "InconsistentVersionWarning" in out.stderr, out.stderr
    assert not (tmp_path / "model.onnx").exists()


def test_labels_are_validated(models, tmp_path):
    d = models[PINNED]
    err = refused(d / "random_forest.pkl", "--out", tmp_path / "m", "--features-from", d / "check.csv", "--labels", "bad label,X")
    assert "--labels" in err


# ---------------------------------------------------------------------------------------------
# plain .onnx
def test_a_plain_onnx_file_is_accepted_against_its_score_column_and_refused_when_it_differs(models, tmp_path):
    d = models[PINNED]
    import_ok(d / "gradient_boosting.pkl", "--out", tmp_path / "src", "--features-from", d / "check.csv", "--version", "v1")
    card = json.loads((tmp_path / "src" / "model.json").read_text())
    X, _ = read_rows(d / "check.csv", card["features"])
    code = (
        "import pickle, numpy as np, sys; m = pickle.load(open(sys.argv[1], 'rb')); "
        "X = np.load(sys.argv[2]).astype(np.float64); np.save(sys.argv[3], m.predict_proba(X)[:, 1])"
    )
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    subprocess.run([sys.executable, "-c", code, str(d / "gradient_boosting.pkl"), str(tmp_path / "X.npy"), str(tmp_path / "ref.npy")], check=True)
    ref = np.load(tmp_path / "ref.npy")

    def rows_csv(path: Path, scores: np.ndarray) -> None:
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([*card["features"], "score"])
            for row, s in zip(X.astype(np.float32), scores):
                w.writerow([*(repr(float(v)) for v in row), repr(float(s))])

    rows_csv(tmp_path / "rows.csv", ref)
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes((tmp_path / "src" / "model.onnx").read_bytes())
    feats = ",".join(card["features"])
    import_ok(onnx, "--out", tmp_path / "plain", "--features", feats, "--score-kind", "probability", "--check-rows", tmp_path / "rows.csv", "--version", "v1")
    plain = json.loads((tmp_path / "plain" / "model.json").read_text())
    assert plain["format"] == "att-model/2" and plain["estimator"]["saved_as"] == "onnx" and plain["explain"] is None and plain["explain_unavailable"]
    assert plain["parity"]["passed"] and plain["parity"]["source"] == "check-rows" and set(plain["files"]) == {"model.onnx"}
    # a reference 1e-5 off on one row: refused
    bad = ref.copy()
    bad[7] += 1e-5
    rows_csv(tmp_path / "bad.csv", bad)
    err = refused(onnx, "--out", tmp_path / "p2", "--features", feats, "--score-kind", "probability", "--check-rows", tmp_path / "bad.csv")
    assert "does not reproduce" in err and not (tmp_path / "p2").exists()
    err = refused(onnx, "--out", tmp_path / "p3", "--features", feats, "--score-kind", "probability")
    assert "--check-rows" in err


# ---------------------------------------------------------------------------------------------
# SHAP reference values (brute force over feature subsets) — what the TypeScript TreeSHAP is checked against
@pytest.mark.parametrize("kind", ["random_forest", "gradient_boosting", "pipeline_imputer_standard_hist_gradient_boosting", "pipeline_standard_logistic"])
def test_brute_force_shap_values_add_up_to_the_model_output(models, tmp_path, kind):
    d = models[PINNED]
    import_ok(d / f"{kind}.pkl", "--out", tmp_path / "m", "--features-from", d / "check.csv", "--version", "v1")
    doc = json.loads((tmp_path / "m" / "explain.json").read_text())
    X, _ = read_rows(d / "check.csv", doc["features"])
    for x in X[:2].astype(np.float32).astype(np.float64):
        phi, expected = explain_data.shap_brute_force(doc, x)
        assert math.isclose(phi.sum() + expected, explain_data.explained_value(doc, x[None, :])[0], rel_tol=1e-9, abs_tol=1e-9)
