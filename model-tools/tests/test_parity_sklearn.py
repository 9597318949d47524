"""The compact ONNX export scores exactly like scikit-learn, and like skl2onnx's own graph,
on random rows and on rows sitting on every split threshold and one float32 ulp either side."""

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.ensemble import IsolationForest

from att_model import forest as forest_mod
from att_model.from_sklearn import forest_from_sklearn
from att_model.onnx_export import build_model
from att_model.parity import rows_near_thresholds

from .conftest import MARGINALS, heavy_tailed_rows

THRESHOLD = 0.5


def run_onnx(model_proto, X):
    sess = ort.InferenceSession(model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: np.asarray(X, dtype=np.float32)})


@pytest.fixture(scope="module", params=[1.0, 0.6], ids=["all-features", "max_features=0.6"])
def fitted(request):
    rng = np.random.default_rng(20240601)
    X = heavy_tailed_rows(rng, 5000, 45)
    model = IsolationForest(n_estimators=100, random_state=7, max_features=request.param).fit(X)
    forest = forest_from_sklearn(model)
    rows = {
        "random": heavy_tailed_rows(rng, 4000, 45),
        "thresholds+-1ulp": rows_near_thresholds(forest, X[:4000], rng, per_row=12).astype(np.float64),
        "zeros+thresholds": rows_near_thresholds(forest, np.zeros((1000, 45)), rng, per_row=25).astype(np.float64),
    }
    nan_rows = heavy_tailed_rows(rng, 500, 45)
    nan_rows[rng.random(nan_rows.shape) < 0.2] = np.nan
    rows["with NaN"] = nan_rows
    return model, forest, rows


def test_exact_numpy_scorer_equals_sklearn_score_samples(fitted):
    model, forest, rows = fitted
    for name, X in rows.items():
        assert np.abs(forest.score(X) + model.score_samples(X)).max() <= 1e-12, name


def test_compact_onnx_matches_sklearn_on_every_row(fitted):
    model, forest, rows = fitted
    proto = build_model(forest)
    total = 0
    for name, X in rows.items():
        score, path_length = run_onnx(proto, X)
        sk = -model.score_samples(X)
        diff = np.abs(score.ravel() - sk)
        assert diff.max() <= 1e-6, f"{name}: max |diff| {diff.max()}"
        assert ((score.ravel() >= THRESHOLD) == (sk >= THRESHOLD)).all(), name
        total += len(X)
    assert total == 9500


def test_compact_onnx_matches_skl2onnx(fitted):
    model, forest, rows = fitted
    if model.max_features != 1.0:
        pytest.skip("skl2onnx's IsolationForest converter refuses max_features < 1 (_max_features != n_features)")
    from skl2onnx import to_onnx

    reference = to_onnx(model, rows["random"][:1].astype(np.float32), target_opset={"": 17, "ai.onnx.ml": 3})
    proto = build_model(forest)
    for name, X in rows.items():
        if name == "with NaN":
            continue  # skl2onnx's graph does not carry sklearn's missing_go_to_left
        label, decision = run_onnx(reference, X)
        ours = run_onnx(proto, X)[0].ravel()
        # decision_function = score_samples - offset_ = -score + 0.5
        assert np.abs(ours - (0.5 - decision.ravel())).max() <= 1e-6, name
        assert ((ours >= THRESHOLD) == (label.ravel() == -1)).all(), name


def test_nearest_rounded_thresholds_would_misroute_rows(fitted, monkeypatch):
    # control for the threshold rows: the naive float32 cast (round to nearest) does send some
    # of them to the other child, so the tests above would catch a wrong rounding
    model, forest, rows = fitted
    monkeypatch.setattr(forest_mod, "float32_round_down", lambda t: np.asarray(t, dtype=np.float64).astype(np.float32))
    score = run_onnx(build_model(forest), rows["thresholds+-1ulp"])[0].ravel()
    assert (np.abs(score + model.score_samples(rows["thresholds+-1ulp"])) > 1e-5).sum() > 10


@pytest.mark.skipif(not MARGINALS.exists(), reason=f"ATT training marginals not found at {MARGINALS}")
def test_compact_onnx_matches_sklearn_on_synthetic_att_rows():
    from att_model.marginals import load_marginals
    from att_model.synthetic import SyntheticGenerator

    mg = load_marginals(MARGINALS)
    gen = SyntheticGenerator(mg)
    train = gen.generate(6000, 1)
    X = np.column_stack([train[n] for n in gen.feature_names])
    model = IsolationForest(n_estimators=100, random_state=42).fit(X)
    forest = forest_from_sklearn(model, gen.feature_names)
    test = gen.generate(5000, 2)
    T = np.column_stack([test[n] for n in gen.feature_names])
    T = np.vstack([T, rows_near_thresholds(forest, T[:3000], np.random.default_rng(3), per_row=10)])
    score = run_onnx(build_model(forest), T)[0].ravel()
    sk = -model.score_samples(T)
    assert np.abs(score - sk).max() <= 1e-6
    assert ((score >= THRESHOLD) == (sk >= THRESHOLD)).all()
