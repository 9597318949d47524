"""forest.json round-trips: its leaf values are the path lengths, its thresholds are exact
float32 values, and scoring from it equals the exact scorer."""

import json

import numpy as np
from sklearn.ensemble import IsolationForest

from att_model import forest_json
from att_model.forest import average_path_length
from att_model.from_sklearn import forest_from_sklearn
from att_model.parity import rows_near_thresholds

from .conftest import heavy_tailed_rows, needs_shared_data


def _fresh_forest():
    rng = np.random.default_rng(5)
    X = heavy_tailed_rows(rng, 3000, 12)
    names = [f"f{i:02d}" for i in range(12)]
    return forest_from_sklearn(IsolationForest(n_estimators=30, random_state=3, max_features=0.75).fit(X), names), X, rng


def _check_round_trip(forest, X, rng, path):
    forest_json.write(forest, path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "att-forest/1" and doc["n_trees"] == forest.n_trees
    back, values = forest_json.read(path)
    for t, v, orig in zip(back.trees, values, forest.trees):
        leaf = t.left == -1
        depth = orig.depths()
        # leaves: depth + c(cover), i.e. each leaf weight reproduces sklearn's path length
        assert np.allclose(v[leaf], depth[leaf] + average_path_length(t.n_node_samples[leaf]), rtol=0, atol=1e-12)
        # inner nodes: cover-weighted mean of the children (TreeSHAP's expectation)
        inner = np.flatnonzero(~leaf)
        l, r = t.left[inner], t.right[inner]
        cover = t.n_node_samples
        assert np.allclose(v[inner] * cover[inner], v[l] * cover[l] + v[r] * cover[r], rtol=1e-12)
        assert (cover[inner] == cover[l] + cover[r]).all()
        # thresholds are float32 values written exactly
        assert (t.threshold[inner].astype(np.float32).astype(np.float64) == t.threshold[inner]).all()
    T = np.vstack([heavy_tailed_rows(rng, 2000, forest.n_features), rows_near_thresholds(forest, X[:2000], rng, per_row=6)])
    # scoring from forest.json (float32-rounded thresholds) == scoring from the original float64 ones
    assert np.array_equal(back.score(T), forest.score(T))
    # path_sum = sum of leaf values reached
    leaf_sum = sum(v[t.apply(T.astype(np.float32))] for t, v in zip(back.trees, values))
    assert np.allclose(leaf_sum, back.path_length_sum(T), rtol=0, atol=1e-9)


def test_forest_json_round_trip_of_a_fresh_model(tmp_path):
    forest, X, rng = _fresh_forest()
    _check_round_trip(forest, X, rng, tmp_path / "forest.json")


@needs_shared_data
def test_forest_json_round_trip_of_the_att_model(att_forest, tmp_path):
    rng = np.random.default_rng(11)
    _check_round_trip(att_forest, np.zeros((2000, 45)), rng, tmp_path / "forest.json")
