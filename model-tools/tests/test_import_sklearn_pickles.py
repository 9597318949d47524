"""`import` of a model pickled by the venv's own scikit-learn (>= 1.3 trees, with the
`missing_go_to_left` node field), not only the 1.1.1 ATT original; and joblib files."""

import json
import pickle

import joblib
import numpy as np
import onnxruntime as ort
import pytest
import sklearn
from sklearn.ensemble import IsolationForest

from att_model import data
from att_model.safe_pickle import UnsafePickleError, forest_from_pickle

from .conftest import heavy_tailed_rows
from .test_cli import att_model, write_csv

NAMES = [f"f{i}" for i in range(6)]  # already sorted: the CLI's feature order is the sorted names


@pytest.fixture(scope="module")
def pickled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sk-pickle")
    rng = np.random.default_rng(31)
    model = IsolationForest(n_estimators=50, random_state=5).fit(heavy_tailed_rows(rng, 2000, len(NAMES)))
    rows = heavy_tailed_rows(rng, 1500, len(NAMES))
    rows[1000:][rng.random((500, len(NAMES))) < 0.3] = np.nan  # NaN takes the missing_go_to_left branch
    with open(tmp / "model.pkl", "wb") as fh:
        pickle.dump(model, fh)
    return tmp, model, rows


def test_the_venv_pins_a_scikit_learn_with_missing_go_to_left():
    assert sklearn.__version__.startswith("1.7.")


def test_a_pickle_of_the_pinned_sklearn_scores_like_sklearn(pickled):
    tmp, model, rows = pickled
    forest = forest_from_pickle(tmp / "model.pkl")  # what `import` calls
    assert forest.meta["sklearn_version"] == sklearn.__version__
    assert forest.meta["node_fields"][-1] == "missing_go_to_left"
    # NaN must really be routed both ways, else the NaN rows would not test the field
    missing_left = np.concatenate([t.missing_left[~t.is_leaf] for t in forest.trees])
    assert 0 < missing_left.mean() < 1
    sk = -model.score_samples(rows)
    got = forest.score(rows)
    assert np.abs(got - sk).max() <= 1e-6
    assert ((got >= 0.5) == (model.predict(rows) == -1)).all()


def test_import_command_end_to_end_on_a_pickle_of_the_pinned_sklearn(pickled):
    tmp, model, rows = pickled
    sk = -model.score_samples(rows)
    csv = tmp / "rows.csv"
    write_csv(csv, [*NAMES, "scores"], np.column_stack([rows, sk]))
    att_model("import", tmp / "model.pkl", "--out", tmp / "m", "--features-from", csv, "--check-rows", csv)
    card = json.loads((tmp / "m" / "model.json").read_text())
    assert card["source"]["pickle_sklearn_version"] == sklearn.__version__
    assert "missing_go_to_left" in card["source"]["pickle_node_fields"]
    assert card["features"] == NAMES and card["libraries"]["sklearn"] == sklearn.__version__
    # the reference scorer (forest.json) and the ONNX model the worker loads
    scored = [json.loads(line) for line in att_model("score", "--model", tmp / "m", "--input", csv).stdout.splitlines()]
    assert np.abs(np.array([s["score"] for s in scored]) - sk).max() <= 1e-6
    assert [s["prediction"] for s in scored] == ["ANOMALY" if p == -1 else "NORMAL" for p in model.predict(rows)]
    X32 = data.read_matrix(csv, NAMES).astype(np.float32)
    onnx_score = ort.InferenceSession(str(tmp / "m" / "model.onnx")).run(["score"], {"features": X32})[0].ravel()
    assert np.abs(onnx_score - sk).max() <= 1e-6
    assert ((onnx_score >= 0.5) == (model.predict(rows) == -1)).all()


JOBLIB_ADVICE = r"joblib\.dump file.*NumpyArrayWrapper.*pickle\.dump"


def test_a_joblib_file_imports_to_the_same_forest_as_its_pickle(pickled):
    """joblib files are read through the allow-list inside joblib's own unpickler (issue 15);
    the plain-pickle reader forest_from_pickle still names them as joblib files."""
    tmp, model, rows = pickled
    joblib.dump(model, tmp / "model.joblib")
    with pytest.raises(UnsafePickleError, match=JOBLIB_ADVICE):
        forest_from_pickle(tmp / "model.joblib")
    csv = tmp / "rows-j.csv"
    write_csv(csv, NAMES, rows)
    att_model("import", tmp / "model.pkl", "--out", tmp / "from-pickle", "--features-from", csv, "--version", "1")
    att_model("import", tmp / "model.joblib", "--out", tmp / "from-joblib", "--features-from", csv, "--version", "1")
    assert (tmp / "from-pickle" / "forest.json").read_bytes() == (tmp / "from-joblib" / "forest.json").read_bytes()
    assert (tmp / "from-pickle" / "model.onnx").read_bytes() == (tmp / "from-joblib" / "model.onnx").read_bytes()
    card = json.loads((tmp / "from-joblib" / "model.json").read_text())
    assert card["format"] == "att-model/1" and card["source"]["kind"] == "imported_joblib"
    assert "joblib.numpy_pickle.NumpyArrayWrapper" in card["source"]["pickle_globals"]
