"""The commands end to end: generate-synthetic -> train -> score, import, export-skl2onnx."""

import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

from att_model import data
from att_model.card import sha256_file

from .conftest import EXPLOITS, MARGINALS, PICKLE, REPO, heavy_tailed_rows, needs_shared_data


def att_model(*args, check=True):
    return subprocess.run([sys.executable, "-m", "att_model", *map(str, args)], cwd=REPO, capture_output=True, text=True, check=check)


def write_csv(path, names, X):
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for row in X:
            fh.write(",".join(repr(float(v)) for v in row) + "\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(8)
    # column order in the file is deliberately unsorted: the model's order is the sorted names
    names = ["zeta_count", "USDC_value", "USDC_transfers", "alpha", "WETH_transfers", "WETH_value"]
    X = heavy_tailed_rows(rng, 3000, len(names))
    write_csv(tmp / "rows.csv", names, X)
    tokens = tmp / "tokens.json"
    tokens.write_text(json.dumps([{"symbol": "USDC", "address": "0xA0b86991c6218b36c1d19d4a2e9eb0ce3606eB48", "decimals": 6}, {"symbol": "WETH", "address": "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "decimals": 18}]))
    out = att_model("train", "--input", tmp / "rows.csv", "--out", tmp / "registry" / "{version}", "--n-estimators", 40, "--token-match", "address", "--tokens-json", tokens)
    summary = json.loads(out.stdout)
    model_dir = REPO / summary["model_dir"]  # relative to the repo unless absolute (then "/" wins)
    return tmp, names, X, model_dir


def test_train_writes_a_complete_card(trained):
    tmp, names, X, model_dir = trained
    card = json.loads((model_dir / "model.json").read_text())
    assert card["format"] == "att-model/1" and card["version"].isdigit()
    assert card["features"] == sorted(names)
    assert card["token_match"] == "address"
    assert card["tokens"][0] == {"symbol": "USDC", "address": "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "decimals": 6}
    assert card["n_estimators"] == 40 and card["max_samples"] == 256 and card["offset"] == -0.5
    for name in ("model.onnx", "forest.json"):
        assert card["files"][name]["sha256"] == sha256_file(model_dir / name)
    t = card["training"]
    assert t["n_rows"] == 3000 and 0 <= t["anomaly_rate"] <= 1
    assert sum(t["score_histogram"]["counts"]) == 3000
    assert all(sum(h["counts"]) == 3000 for h in t["feature_histograms"].values())
    assert card["source"]["sklearn_check"]["max_abs_diff_exact_vs_sklearn_score_samples"] <= 1e-12
    assert card["onnx"]["opsets"] == {"": 17, "ai.onnx.ml": 3}


def test_train_card_records_versions_and_the_training_score_distribution(trained):
    import platform
    from datetime import datetime

    import onnx
    import skl2onnx
    import sklearn

    from att_model.cli import fit_isolation_forest

    tmp, names, X, model_dir = trained
    card = json.loads((model_dir / "model.json").read_text())
    # the version is the creation unix time: after the rows were written, before the card was
    version = int(card["version"])
    assert card["version"] == str(version)
    assert datetime.fromisoformat(card["created_at"].replace("Z", "+00:00")).timestamp() == version
    assert int((tmp / "rows.csv").stat().st_mtime) <= version <= (model_dir / "model.json").stat().st_mtime
    assert card["libraries"] == {
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "skl2onnx": skl2onnx.__version__,
        "python": platform.python_version(),
    }
    # what scikit-learn itself scores on the training rows, refitted with the card's parameters
    p = card["source"]["params"]
    X_model = data.read_matrix(tmp / "rows.csv", card["features"])
    model = fit_isolation_forest(X_model, n_estimators=p["n_estimators"], max_samples=p["max_samples"], random_state=p["random_state"], max_features=p["max_features"])
    scores = -model.score_samples(X_model)
    t = card["training"]
    # quantile names as the monitor reads them (src/monitor/reference.ts): "p999" is level 0.999
    levels = [float("0." + k[1:]) for k in t["score_quantiles"]]
    assert levels == [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999]
    q = np.array(list(t["score_quantiles"].values()))
    assert np.abs(q - np.quantile(scores, levels)).max() <= 1e-9
    assert (np.diff(q) >= 0).all() and 0 <= q[0] and q[-1] <= 1
    assert card["threshold"] == 0.5
    assert t["n_anomalies"] == int((scores >= 0.5).sum()) == int((model.predict(X_model) == -1).sum()) > 0
    assert t["anomaly_rate"] == t["n_anomalies"] / 3000


def test_score_command_matches_the_onnx_model(trained):
    tmp, names, X, model_dir = trained
    out = att_model("score", "--model", model_dir, "--input", tmp / "rows.csv")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 3000 and set(lines[0]) == {"score", "prediction"}
    ref = np.array([r["score"] for r in lines])
    Xs = data.read_matrix(tmp / "rows.csv", sorted(names)).astype(np.float32)
    onnx_score = ort.InferenceSession(str(model_dir / "model.onnx")).run(["score"], {"features": Xs})[0].ravel()
    assert np.abs(onnx_score - ref).max() <= 1e-6
    assert [r["prediction"] for r in lines] == ["ANOMALY" if s >= 0.5 else "NORMAL" for s in ref]


def test_a_model_version_is_never_overwritten(trained):
    tmp, names, X, model_dir = trained
    out = att_model("train", "--input", tmp / "rows.csv", "--out", model_dir, check=False)
    assert out.returncode != 0 and "exists; a model version is immutable" in out.stderr


def test_address_matching_requires_addresses(trained):
    tmp, *_ = trained
    out = att_model("train", "--input", tmp / "rows.csv", "--out", tmp / "x", "--token-match", "address", check=False)
    assert out.returncode != 0 and "needs an address for every token" in out.stderr


def test_score_refuses_a_tampered_forest(trained, tmp_path):
    import shutil

    _, _, _, model_dir = trained
    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    (copy / "forest.json").write_text((copy / "forest.json").read_text().replace('"cover":[', '"cover":[ ', 1))
    out = att_model("score", "--model", copy, "--input", EXPLOITS if EXPLOITS.exists() else copy / "model.json", check=False)
    assert out.returncode != 0 and "does not match the card" in out.stderr


@needs_shared_data
def test_import_of_the_att_pickle_end_to_end(tmp_path):
    out = att_model(
        "import", PICKLE, "--out", tmp_path / "att-original-{version}", "--marginals", MARGINALS,
        "--check-rows", EXPLOITS, "--training-anomaly-rate", 0.00387, "--estimate-rows", 3000,
    )  # fmt: skip
    model_dir = next(tmp_path.glob("att-original-*"))
    card = json.loads((model_dir / "model.json").read_text())
    assert card["source"]["kind"] == "imported_pickle" and card["source"]["pickle_sklearn_version"] == "1.1.1"
    assert card["source"]["reference_check"]["max_abs_diff_vs_scores_column"] <= 1e-6
    assert card["training"]["n_rows"] == 14469 and card["training"]["anomaly_rate"] == 0.00387
    assert card["training"]["feature_histograms"]["WETH_transfers"] == {"edges": [0.0, 0.5, 1.5, 2.5, 3.5, 11.0], "counts": [7944, 4100, 2122, 161, 142]}
    assert "ESTIMATED" in card["training"]["provenance"]["score_quantiles"]
    assert [t["symbol"] for t in card["tokens"]][:3] == ["APE", "CRV", "DAI"] and len(card["tokens"]) == 20
    scored = [json.loads(line) for line in att_model("score", "--model", model_dir, "--input", EXPLOITS).stdout.splitlines()]
    expected = data.read_column(EXPLOITS, "scores")
    assert np.abs(np.array([s["score"] for s in scored]) - expected).max() <= 1e-6
    assert out.returncode == 0


@needs_shared_data
def test_import_without_feature_names_says_how_to_give_them(tmp_path):
    out = att_model("import", PICKLE, "--out", tmp_path / "m", check=False)
    assert out.returncode != 0 and "holds no feature_names_in_" in out.stderr and "--features-from" in out.stderr


def test_generate_synthetic_then_export_skl2onnx(tmp_path):
    if not MARGINALS.exists():
        pytest.skip(f"ATT training marginals not found at {MARGINALS}")
    rows = tmp_path / "syn.csv"
    att_model("generate-synthetic", "--out", rows, "--rows", 2000, "--seed", 3)
    meta = json.loads((tmp_path / "syn.csv.meta.json").read_text())
    assert meta["sha256"] == sha256_file(rows) and meta["rows"] == 2000
    summary = json.loads(att_model("train", "--input", rows, "--out", tmp_path / "m", "--n-estimators", 20).stdout)
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["source"]["regenerate"][0].startswith("model-tools/.venv/bin/python -m att_model generate-synthetic")
    assert summary["version"] == card["version"]
    res = json.loads(att_model("export-skl2onnx", "--model", tmp_path / "m", "--out", tmp_path / "bench-{version}.onnx").stdout)
    bench = tmp_path / f"bench-{card['version']}.onnx"
    assert res["bytes"] == bench.stat().st_size
    X = data.read_matrix(rows, card["features"]).astype(np.float32)
    label, decision = ort.InferenceSession(str(bench)).run(None, {"X": X})
    ours = ort.InferenceSession(str(tmp_path / "m" / "model.onnx")).run(["score"], {"features": X})[0].ravel()
    assert np.abs(ours - (0.5 - decision.ravel())).max() <= 1e-6


def test_feature_histograms_use_float32_cuts_that_stay_ordered(trained):
    _, names, X, model_dir = trained
    card = json.loads((model_dir / "model.json").read_text())
    order = sorted(names)
    for name, h in card["training"]["feature_histograms"].items():
        cuts = np.array(h["edges"][1:-1])
        assert (cuts.astype(np.float32).astype(np.float64) == cuts).all(), name
        assert (np.diff(cuts) > 0).all(), name
        x32 = X[:, names.index(name)].astype(np.float32)
        # binning fround(x) against the cuts (the TypeScript monitor) gives the card's counts
        assert np.bincount(np.searchsorted(cuts.astype(np.float32), x32, side="left"), minlength=len(cuts) + 1).tolist() == h["counts"], name
    assert list(card["training"]["feature_histograms"]) == order
