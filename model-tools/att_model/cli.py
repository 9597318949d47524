"""python -m att_model <command> — see model-tools/README.md for the commands and formats."""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from . import build, card, data
from .forest import Forest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_MARGINALS = SHARED_DATA / "att-reference" / "training_marginals.json"
PY = "model-tools/.venv/bin/python -m att_model"


_ARGV: list[str] = []


def _command_line() -> str:
    return f"{PY} " + " ".join(shlex.quote(a) for a in _ARGV)


def _display_path(p: str | Path) -> str:
    """Paths in cards are relative to the repository root when possible (no machine paths)."""
    p = Path(p).resolve()
    for base, prefix in ((REPO, ""), (REPO.parent, "../")):
        try:
            return prefix + str(p.relative_to(base))
        except ValueError:
            pass
    return str(p)


def _load_tokens(path: str | None, features: list[str], token_match: str) -> list[dict]:
    if path is None:
        tokens = card.tokens_from_features(features)
    else:
        raw = json.loads(Path(path).read_text())
        tokens = raw["tokens"] if isinstance(raw, dict) else raw
        if not isinstance(tokens, list) or not all(isinstance(t, dict) and "symbol" in t for t in tokens):
            raise SystemExit(f"{path}: expected a list of {{symbol, address?, decimals?}} (or {{tokens: [...]}})")
        tokens = [{k: (v.lower() if k == "address" else v) for k, v in t.items() if k in ("symbol", "address", "decimals")} for t in tokens]
    if token_match == "address":
        lacking = [t["symbol"] for t in tokens if not t.get("address")]
        if lacking:
            raise SystemExit(f"--token-match address needs an address for every token; missing for {lacking} (give them with --tokens-json)")
    missing_features = [t["symbol"] for t in tokens if f"{t['symbol']}_transfers" not in features]
    if missing_features:
        raise SystemExit(f"tokens {missing_features} have no <SYMBOL>_transfers feature in the model")
    return tokens


def _version(args) -> tuple[str, str]:
    version, created_at = card.now_version()
    if args.version:
        version = args.version
    return version, created_at


def _print_summary(doc: dict, out_dir: Path) -> None:
    t = doc["training"]
    print(
        json.dumps(
            {
                "model_dir": _display_path(out_dir),
                "version": doc["version"],
                "n_features": doc["n_features"],
                "n_estimators": doc["n_estimators"],
                "training_anomaly_rate": t.get("anomaly_rate"),
                "files": doc["files"],
                "onnx_parity": doc["source"]["onnx_parity"],
            },
            indent=2,
        )
    )


# ---------------------------------------------------------------------------------------------
def cmd_import(args) -> None:
    """Any supported model file. IsolationForest pickles and joblib files take the unchanged
    compact att-model/1 path (no scikit-learn code runs); everything else becomes att-model/2
    (byom.py: the model's own scikit-learn in its venv, skl2onnx, parity, explain.json)."""
    from . import byom, safe_pickle

    path = Path(args.pickle)
    try:
        saved_as = safe_pickle.detect_format(path)
        if saved_as == "onnx":
            res = byom.import_onnx(args, path, **_byom_hooks())
            _print_v2(res)
            return
        if saved_as == "skops":
            byom.skops_check(path)
        version, top = safe_pickle.sklearn_version_of(path, saved_as)
    except (safe_pickle.UnsafePickleError, safe_pickle.UnsupportedModelError) as err:
        raise byom.ImportRefused(str(err)) from None
    if top.endswith(".IsolationForest") and saved_as in ("pickle", "joblib"):
        if args.threshold is None:
            args.threshold = 0.5
        _import_isolation_forest(args, saved_as)
        return
    if version is None:
        raise byom.ImportRefused(
            safe_pickle.refusal(f"{path}: {top} without a recorded scikit-learn version (_sklearn_version)", "a file saved by scikit-learn >= 1.2 (which records it)", "Fix: load it in the scikit-learn that trained it and save it again")
        )
    try:
        if saved_as == "skops" and top.endswith(".IsolationForest"):
            _import_skops_isolation_forest(args, path, version)
            return
        res = byom.import_sklearn(args, path, saved_as, version, **_byom_hooks())
    except ValueError as err:  # venvs.requirements: a version outside the pin table
        raise byom.ImportRefused(str(err)) from None
    _print_v2(res)


def _byom_hooks() -> dict:
    return {"display": _display_path, "command_line": _command_line(), "resolve_out": build.resolve_out, "make_version": _version, "load_tokens": _load_tokens}


def _print_v2(res: dict) -> None:
    doc = res["doc"]
    print(json.dumps({"model_dir": _display_path(res["out_dir"]), "version": doc["version"], "format": doc["format"], "estimator": doc["estimator"], "score": doc["score"], "parity": doc["parity"], "explain": doc["explain"], "files": doc["files"]}, indent=2))


def _import_skops_isolation_forest(args, path: Path, version: str) -> None:
    """A skops IsolationForest: its own scikit-learn loads it (skops needs the real classes) and
    re-pickles it; the compact path then reads that pickle like any other."""
    import tempfile

    from . import byom, venvs

    python = venvs.python_for(version)
    with tempfile.TemporaryDirectory(prefix="att-byom-") as tmp:
        byom._run_worker(python, ["--file", str(path), "--saved-as", "skops", "--work", tmp])
        repickled = Path(tmp) / "isolation_forest.pkl"
        if args.threshold is None:
            args.threshold = 0.5
        args._repickled = repickled
        _import_isolation_forest(args, "skops")


def _load_isolation_forest(args, saved_as: str):
    from . import safe_pickle

    if saved_as == "pickle":
        return safe_pickle.forest_from_pickle(args.pickle), None
    if saved_as == "skops":
        return safe_pickle.forest_from_pickle(args._repickled), None
    obj, names = safe_pickle.load_model_file(args.pickle, "joblib", build=False)
    return safe_pickle.forest_from_object(obj, str(args.pickle)), names


def _import_isolation_forest(args, saved_as: str) -> None:
    from .marginals import load_marginals
    from .synthetic import SyntheticGenerator

    forest, joblib_names = _load_isolation_forest(args, saved_as)
    mg = load_marginals(args.marginals) if args.marginals else None
    names = forest.feature_names
    names_from = "pickle feature_names_in_"
    if names is None:
        if args.features_from:
            names, names_from = data.feature_columns(args.features_from), f"sorted feature columns of {_display_path(args.features_from)}"
        elif mg is not None:
            names, names_from = sorted(mg.features), f"sorted feature names of {_display_path(args.marginals)}"
        else:
            raise SystemExit(
                f"{args.pickle} holds no feature_names_in_ (it was fitted on an unnamed array); give the column "
                "names with --features-from <csv> (sorted, as the ATT bot) or --marginals <json>"
            )
    if len(names) != forest.n_features:
        raise SystemExit(f"{len(names)} feature names for a model with {forest.n_features} features")
    if mg is not None and set(mg.features) != set(names):
        raise SystemExit(f"--marginals features differ from the model's: {sorted(set(mg.features) ^ set(names))}")
    forest.feature_names = list(names)

    version, created_at = _version(args)
    out_dir = build.resolve_out(args.out, version, args.force)
    parity_rows: list[tuple[str, np.ndarray]] = []
    checks = None
    if args.check_rows:
        X = data.read_matrix(args.check_rows, names)
        expected = data.read_column(args.check_rows, "scores")
        if expected is None:
            from .byom import ImportRefused
            from .safe_pickle import refusal

            raise ImportRefused(refusal(f"--check-rows {args.check_rows} without a `scores` column", "for an IsolationForest: the rows and the model's own scores (abs(score_samples)) in a `scores` column", "Fix: add the column, or leave --check-rows out"))
        got = forest.score(X)
        checks = {"rows": _display_path(args.check_rows), "n_rows": len(X), "max_abs_diff_vs_scores_column": float(np.abs(got - expected).max())}
        if checks["max_abs_diff_vs_scores_column"] > args.check_tolerance:
            raise SystemExit(f"imported model does not reproduce the `scores` column of {args.check_rows}: {checks}")
        parity_rows.append((_display_path(args.check_rows), X))

    training: dict = {"n_rows": None, "anomaly_rate": args.training_anomaly_rate, "histogram_semantics": card.HISTOGRAM_SEMANTICS}
    provenance: dict = {"anomaly_rate": args.training_anomaly_rate_source if args.training_anomaly_rate is not None else "unknown"}
    if mg is not None:
        training["n_rows"] = mg.n_samples
        training["feature_histograms"] = {
            n: {"edges": mg.features[n].edges.tolist(), "counts": mg.features[n].counts(mg.n_samples)} for n in names
        }
        provenance["n_rows"] = provenance["feature_histograms"] = f"{_display_path(args.marginals)} ({mg.source}): LIME entropy bins of the real training set"
        gen = SyntheticGenerator(mg)
        rows = gen.generate(args.estimate_rows, args.estimate_seed)
        Xs = np.column_stack([rows[n] for n in names])
        est = card.score_stats(forest.score(Xs), args.threshold)
        training["score_quantiles"] = est["score_quantiles"]
        training["score_histogram"] = est["score_histogram"]
        training["estimated_anomaly_rate_on_synthetic_rows"] = est["anomaly_rate"]
        provenance["score_quantiles"] = provenance["score_histogram"] = (
            f"ESTIMATED, not the real training scores: this model scored on {args.estimate_rows} synthetic rows "
            f"calibrated to the marginals (generate-synthetic --rows {args.estimate_rows} --seed {args.estimate_seed})"
        )
        parity_rows.append((f"{args.estimate_rows} synthetic rows, seed {args.estimate_seed}", Xs))
    training["provenance"] = provenance

    data_bytes = Path(args.pickle).read_bytes()
    source = {
        "kind": "imported_pickle" if saved_as == "pickle" else f"imported_{saved_as}",
        "pickle": _display_path(args.pickle),
        "pickle_sha256": hashlib.sha256(data_bytes).hexdigest(),
        "origin": args.origin,
        "pickle_sklearn_version": forest.meta.get("sklearn_version"),
        "pickle_params": forest.meta.get("params"),
        "pickle_node_fields": forest.meta.get("node_fields"),
        "pickle_globals": sorted(f"{m}.{n}" for m, n in _globals(data_bytes)) if saved_as == "pickle" else sorted({f"{m}.{n}" for m, n in (joblib_names or [])}),
        "feature_names_from": names_from,
        "reference_check": checks,
        "regenerate": [_command_line()],
        "note": "read with a restricted unpickler (numpy + sklearn stand-ins only); no sklearn code ran"
        if saved_as != "skops"
        else f"loaded by skops in scikit-learn {forest.meta.get('sklearn_version')} (untrusted types checked against the allow-list), re-pickled, then read with the restricted unpickler",
    }
    tokens = _load_tokens(args.tokens_json, names, args.token_match)
    doc = build.write_model(
        forest, out_dir, version=version, created_at=created_at, threshold=args.threshold, token_match=args.token_match,
        tokens=tokens, training=training, source=source, parity_rows=parity_rows or [("zeros", np.zeros((1, forest.n_features)))],
    )  # fmt: skip
    _print_summary(doc, out_dir)


def _globals(data_bytes: bytes):
    from .safe_pickle import list_globals

    return list(list_globals(data_bytes))


# ---------------------------------------------------------------------------------------------
def _parse_max_samples(v: str):
    if v == "auto":
        return "auto"
    return float(v) if "." in v else int(v)


def fit_isolation_forest(X: np.ndarray, *, n_estimators: int, max_samples, random_state: int, max_features: float = 1.0):
    from sklearn.ensemble import IsolationForest

    model = IsolationForest(n_estimators=n_estimators, max_samples=max_samples, random_state=random_state, max_features=max_features, contamination="auto")
    model.fit(X)
    return model


def cmd_train(args) -> None:
    from .from_sklearn import forest_from_sklearn

    names = data.feature_columns(args.input)
    X = data.read_matrix(args.input, names)
    tokens = _load_tokens(args.tokens_json, names, args.token_match)
    max_samples = _parse_max_samples(args.max_samples)
    model = fit_isolation_forest(X, n_estimators=args.n_estimators, max_samples=max_samples, random_state=args.random_state, max_features=args.max_features)
    forest = forest_from_sklearn(model, names)
    exact = forest.score(X)
    sk = -model.score_samples(X)
    sklearn_check = {"n_rows": len(X), "max_abs_diff_exact_vs_sklearn_score_samples": float(np.abs(exact - sk).max())}
    if sklearn_check["max_abs_diff_exact_vs_sklearn_score_samples"] > 1e-12:
        raise SystemExit(f"extracted trees do not reproduce sklearn score_samples: {sklearn_check}")

    version, created_at = _version(args)
    out_dir = build.resolve_out(args.out, version, args.force)
    stats = card.score_stats(exact, args.threshold)
    training = {
        "n_rows": int(len(X)),
        **stats,
        "feature_histograms": {n: card.feature_histogram(X[:, i]) for i, n in enumerate(names)},
        "histogram_semantics": card.HISTOGRAM_SEMANTICS,
        "provenance": {"all": "computed from the training rows with the exact (sklearn-equal) scores"},
    }
    regenerate = [_command_line()]
    meta_path = Path(str(args.input) + ".meta.json")
    generated_by = None
    if meta_path.exists():
        generated_by = json.loads(meta_path.read_text())
        regenerate.insert(0, generated_by["command"])
    source = {
        "kind": "trained",
        "input": _display_path(args.input),
        "input_sha256": card.sha256_file(args.input),
        "input_generated_by": generated_by,
        "params": {
            "n_estimators": args.n_estimators,
            "max_samples": max_samples,
            "max_features": args.max_features,
            "random_state": args.random_state,
            "contamination": "auto",
        },
        "feature_names_from": "sorted CSV column names (non-feature columns excluded: " + ", ".join(sorted(data.NON_FEATURE_COLUMNS)) + ")",
        "sklearn_check": sklearn_check,
        "regenerate": regenerate,
        "note": "regenerating gives the same trees (same sklearn version, same seed) under a new version timestamp",
    }
    doc = build.write_model(
        forest, out_dir, version=version, created_at=created_at, threshold=args.threshold, token_match=args.token_match,
        tokens=tokens, training=training, source=source, parity_rows=[("training rows", X)],
    )  # fmt: skip
    _print_summary(doc, out_dir)


# ---------------------------------------------------------------------------------------------
def cmd_generate_synthetic(args) -> None:
    from .marginals import load_marginals
    from .synthetic import SyntheticGenerator, calibration_report, write_csv

    mg = load_marginals(args.marginals)
    rows = SyntheticGenerator(mg).generate(args.rows, args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_csv(rows, args.out)
    report = calibration_report(rows, mg)
    meta = {
        "command": _command_line(),
        "marginals": _display_path(args.marginals),
        "rows": args.rows,
        "seed": args.seed,
        "sha256": card.sha256_file(args.out),
        "max_abs_bin_freq_diff": {k: round(v["max_abs_freq_diff"], 5) for k, v in report.items()},
    }
    Path(args.out + ".meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    worst = sorted(report.items(), key=lambda kv: -kv[1]["max_abs_freq_diff"])[:5]
    print(f"wrote {args.rows} rows to {args.out} (+ .meta.json); largest bin-frequency gaps vs the real marginals:", file=sys.stderr)
    for name, r in worst:
        print(f"  {name}: {r['max_abs_freq_diff']:.4f}  real {r['real']}  synthetic {r['synthetic']}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
def load_model_dir(model_dir: str | Path) -> tuple[dict, Forest]:
    from . import forest_json

    model_dir = Path(model_dir)
    doc = json.loads((model_dir / "model.json").read_text())
    if doc.get("format") != card.FORMAT or doc.get("score_transform") != card.SCORE_TRANSFORM:
        raise SystemExit(f"{model_dir}/model.json: format {doc.get('format')!r} / transform {doc.get('score_transform')!r} not understood")
    want = doc["files"]["forest.json"]["sha256"]
    got = card.sha256_file(model_dir / "forest.json")
    if got != want:
        raise SystemExit(f"{model_dir}/forest.json: sha256 {got} does not match the card's {want}")
    forest, _values = forest_json.read(model_dir / "forest.json")
    if forest.feature_names != doc["features"]:
        raise SystemExit(f"{model_dir}: forest.json and model.json disagree on the features")
    return doc, forest


def _load_v2(model_dir: Path) -> tuple[dict, bytes]:
    """An att-model/2 folder: the card and the model.onnx bytes, every listed file hash-checked."""
    doc = json.loads((model_dir / "model.json").read_text())
    for name, f in doc["files"].items():
        got = card.sha256_file(model_dir / name)
        if got != f["sha256"]:
            raise SystemExit(f"{model_dir}/{name}: sha256 {got} does not match the card's {f['sha256']}")
    return doc, (model_dir / "model.onnx").read_bytes()


def cmd_score(args) -> None:
    model_dir = Path(args.model)
    if json.loads((model_dir / "model.json").read_text()).get("format") == "att-model/2":
        from .byom import onnx_score

        doc, model_bytes = _load_v2(model_dir)
        threshold = doc["threshold"] if args.threshold is None else args.threshold
        labels = doc["score"]["labels"]
        X = data.read_matrix(args.input, doc["features"])
        for s in onnx_score(model_bytes, X.astype(np.float32), doc["onnx"]["input"]):
            sys.stdout.write(json.dumps({"score": float(s), "prediction": labels["positive"] if s >= threshold else labels["negative"]}) + "\n")
        return
    doc, forest = load_model_dir(args.model)
    threshold = doc["threshold"] if args.threshold is None else args.threshold
    X = data.read_matrix(args.input, doc["features"])
    out = sys.stdout
    for s in forest.score(X):
        out.write(json.dumps({"score": float(s), "prediction": "ANOMALY" if s >= threshold else "NORMAL"}) + "\n")


# ---------------------------------------------------------------------------------------------
def cmd_export_skl2onnx(args) -> None:
    """Refit the card's sklearn model from its training rows (same seed -> same trees, checked),
    then convert it with skl2onnx: a reference graph for the TypeScript benchmarks."""
    from skl2onnx import to_onnx

    from .from_sklearn import forest_from_sklearn

    doc, forest = load_model_dir(args.model)
    if doc["source"].get("kind") != "trained":
        raise SystemExit("export-skl2onnx needs a trained model (its card records the fit parameters)")
    p = doc["source"]["params"]
    rows = args.model_rows or str(REPO / doc["source"]["input"])
    if card.sha256_file(rows) != doc["source"]["input_sha256"]:
        raise SystemExit(f"{rows}: sha256 differs from the training input recorded in the card; regenerate it with: {doc['source']['regenerate'][0]}")
    X = data.read_matrix(rows, doc["features"])
    model = fit_isolation_forest(X, n_estimators=p["n_estimators"], max_samples=p["max_samples"], random_state=p["random_state"], max_features=p["max_features"])
    refit = forest_from_sklearn(model, doc["features"])
    same = all(np.array_equal(a.threshold_f32(), b.threshold_f32()) and np.array_equal(a.n_node_samples, b.n_node_samples) for a, b in zip(refit.trees, forest.trees))
    if not same or refit.n_trees != forest.n_trees:
        raise SystemExit("the refit model's trees differ from the model folder's (different sklearn version?)")
    onx = to_onnx(model, X[:1].astype(np.float32), target_opset={"": 17, "ai.onnx.ml": 3})
    # skl2onnx lists opsets in set order (varies with PYTHONHASHSEED): sort for stable bytes
    opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    out = Path(args.out.replace("{version}", doc["version"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(onx.SerializeToString())
    print(json.dumps({"out": _display_path(out), "bytes": out.stat().st_size, "nodes": len(onx.graph.node), "sha256": card.sha256_file(out)}))


# ---------------------------------------------------------------------------------------------
def cmd_inspect(args) -> None:
    p = Path(args.path)
    if p.is_dir() and json.loads((p / "model.json").read_text()).get("format") == "att-model/2":
        doc, _ = _load_v2(p)
        print(json.dumps({k: doc.get(k) for k in ("format", "version", "created_at", "estimator", "n_features", "score", "parity", "explain", "explain_unavailable")}, indent=2))
        return
    if p.is_file() and not _is_isolation_forest_file(p):
        from . import safe_pickle

        saved_as = safe_pickle.detect_format(p)
        if saved_as == "onnx":
            from .byom import onnx_facts

            print(json.dumps({"format": "onnx", **onnx_facts(p.read_bytes())}, indent=2))
            return
        if saved_as == "skops":
            types = sorted(safe_pickle.skops_types(p))
            version, top = safe_pickle.sklearn_version_of(p, "skops")
        else:
            obj, names = safe_pickle.load_model_file(p, saved_as, build=False)  # stand-ins: nothing built
            types = sorted({f"{m}.{n}" for m, n in names})
            version, top = obj.state.get("_sklearn_version"), obj.sklearn_path
        refused = sorted(t for t in types if tuple(t.rsplit(".", 1)) not in safe_pickle.ALLOWED | safe_pickle.SKOPS_BASIC)
        print(json.dumps({"format": saved_as, "top_level": top, "sklearn_version": version, "names": types, "not_on_allow_list": refused}, indent=2))
        return
    if p.is_dir():
        doc, forest = load_model_dir(p)
        print(json.dumps({k: doc[k] for k in ("version", "created_at", "n_estimators", "max_samples", "n_features", "threshold", "token_match")}, indent=2))
        print(json.dumps({"nodes": forest.node_count(), "max_depth": forest.max_depth(), "training_anomaly_rate": doc["training"].get("anomaly_rate")}))
        return
    from . import safe_pickle

    raw = p.read_bytes()
    print("globals referenced (read statically, nothing executed):")
    try:
        refs = safe_pickle.list_globals(raw)
    except ValueError as err:  # not one pickle stream (joblib writes raw array bytes into it): the load below says what it is
        refs = {}
        print(f"  (stream not readable as a pickle: {err})")
    for mod, name in sorted(refs):
        print(f"  {mod}.{name}")
    forest = safe_pickle.forest_from_pickle_bytes(raw, str(p))
    print(json.dumps({"n_trees": forest.n_trees, "n_features": forest.n_features, "max_samples": forest.max_samples, "offset": forest.offset,
                      "feature_names": forest.feature_names, "nodes": forest.node_count(), "max_depth": forest.max_depth(), **forest.meta}, indent=2, default=str))  # fmt: skip


def _is_isolation_forest_file(p: Path) -> bool:
    """A pickle/joblib file whose top-level object is an IsolationForest (read with stand-ins)."""
    from . import safe_pickle

    try:
        fmt = safe_pickle.detect_format(p)
        if fmt not in ("pickle", "joblib"):
            return False
        _v, top = safe_pickle.sklearn_version_of(p, fmt)
    except (safe_pickle.UnsafePickleError, safe_pickle.UnsupportedModelError):
        return fmt == "pickle"  # the IsolationForest reader below names what it refuses, as before
    return top.endswith(".IsolationForest") and fmt == "pickle"


# ---------------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m att_model", description="IsolationForest models for att-stream: import, train, export, score")
    sub = ap.add_subparsers(dest="command", required=True)

    def common_out(p):
        p.add_argument("--out", required=True, help="model folder to create; '{version}' is replaced by the version")
        p.add_argument("--threshold", type=float, default=0.5, help="anomaly iff score >= threshold (default 0.5, as the ATT bot)")
        p.add_argument("--token-match", choices=("symbol", "address"), default="symbol", help="how the worker maps transfers to <SYM>_ features")
        p.add_argument("--tokens-json", help="list of {symbol, address?, decimals?}; default: derived from <SYM>_transfers features")
        p.add_argument("--version", help="override the version (default: creation unix time)")
        p.add_argument("--force", action="store_true", help="replace an existing model folder")

    p = sub.add_parser("import", help="convert a model file (pickle, joblib, skops of a supported sklearn estimator, or .onnx); see docs/model-formats.md")
    p.add_argument("pickle", metavar="file", help="the model file: pickle, joblib, skops or .onnx (format detected from the content)")
    common_out(p)
    p.set_defaults(threshold=None)  # per score kind: anomaly_score/probability 0.5, decision_function 0.0
    p.add_argument("--model-version", dest="version", help="same as --version")
    p.add_argument("--features-from", help="CSV whose sorted non-feature column names are the model's features")
    p.add_argument("--features", help="comma-separated feature names in model column order (a model fitted on an unnamed array, or a plain .onnx)")
    p.add_argument("--marginals", help="training_marginals.json: feature names, training histograms, estimated score distribution; for att-model/2 the source of the verification rows")
    p.add_argument("--check-rows", help="CSV of verification rows (named feature columns); for an IsolationForest it must hold a `scores` column to reproduce, for a plain .onnx a `score` column")
    p.add_argument("--n-check-rows", type=int, default=2000, help="verification rows generated when --check-rows is not given (att-model/2)")
    p.add_argument("--check-seed", type=int, default=1)
    p.add_argument("--labels", help="POS,NEG names of the two sides (default ANOMALOUS,NORMAL); upper-case letters, digits, _")
    p.add_argument("--score-kind", choices=("anomaly_score", "probability", "decision_function"), help="what the score is (classifiers: probability by default; decision_function for LogisticRegression)")
    p.add_argument("--positive-class", help="the class label treated as positive (default: classes_[1], scikit-learn's positive class)")
    p.add_argument("--training-rows", help="CSV of training rows: fills the card's training section (att-model/2)")
    p.add_argument("--check-tolerance", type=float, default=1e-6)
    p.add_argument("--training-anomaly-rate", type=float, help="known training anomaly rate at the threshold")
    p.add_argument("--training-anomaly-rate-source", default="given on the command line")
    p.add_argument("--origin", default=None, help="where the pickle came from (free text for the card)")
    p.add_argument("--estimate-rows", type=int, default=20000)
    p.add_argument("--estimate-seed", type=int, default=7)
    p.set_defaults(fn=cmd_import)

    p = sub.add_parser("train", help="fit an IsolationForest on a CSV of named feature columns and export it")
    p.add_argument("--input", required=True)
    common_out(p)
    p.add_argument("--n-estimators", type=int, default=100)
    p.add_argument("--max-samples", default="auto")
    p.add_argument("--max-features", type=float, default=1.0)
    p.add_argument("--random-state", type=int, default=42)
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("generate-synthetic", help="feature rows calibrated to the ATT training marginals")
    p.add_argument("--out", required=True)
    p.add_argument("--rows", type=int, default=14469)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--marginals", default=str(DEFAULT_MARGINALS))
    p.set_defaults(fn=cmd_generate_synthetic)

    p = sub.add_parser("score", help="sklearn-free reference scoring from forest.json: JSON lines {score, prediction}")
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--threshold", type=float, default=None)
    p.set_defaults(fn=cmd_score)

    p = sub.add_parser("export-skl2onnx", help="skl2onnx conversion of a trained model, for benchmarks")
    p.add_argument("--model", required=True)
    p.add_argument("--model-rows", help="the training CSV (default: the card's source.input)")
    p.add_argument("--out", required=True, help="'{version}' is replaced by the model version")
    p.set_defaults(fn=cmd_export_skl2onnx)

    p = sub.add_parser("inspect", help="summarize a model folder or a pickle (the pickle is read safely)")
    p.add_argument("path")
    p.set_defaults(fn=cmd_inspect)
    return ap


def main(argv: list[str] | None = None) -> None:
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(_ARGV)
    from .byom import ImportRefused

    try:
        args.fn(args)
    except ImportRefused as err:  # Got/Expected/Fix; exit 2 (1 stays for other failures)
        print(f"att_model import: refused.\n{err.code_message}", file=sys.stderr)
        sys.exit(2)
