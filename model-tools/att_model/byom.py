"""`import` of any supported model (issue 15): att-model/2 folders. See docs/model-formats.md.

Order of work: detect the format; read the scikit-learn version without building anything
(safe_pickle.sklearn_version_of); IsolationForest pickles/joblib files go to the unchanged
att-model/1 path (the caller); everything else runs byom_worker in the venv of exactly that
version (venvs.python_for), which converts and scores; here onnxruntime scores the same rows from
the exact model.onnx bytes, parity is decided, and the card is written.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import card, data, venvs
from .safe_pickle import UnsupportedModelError, refusal, skops_check

FORMAT = "att-model/2"
REL_TOLERANCE = 1e-6
TOLERANCE_RULE = "|ours - reference| <= rel * max(1, |reference|) for every row, ours = onnxruntime float32 `score`, reference = scikit-learn float64 on the same float32-cast rows"
DEFAULT_THRESHOLD = {"anomaly_score": 0.5, "probability": 0.5, "decision_function": 0.0}
LABEL_RE = re.compile(r"^[A-Z0-9_]+$")


class ImportRefused(SystemExit):
    """Exit 2 with a Got/Expected/Fix message (SystemExit prints it)."""

    def __init__(self, message: str):
        super().__init__(f"att_model import: refused.\n{message}")
        self.code_message = message


def _refuse(got: str, expected: str, fix: str) -> ImportRefused:
    return ImportRefused(refusal(got, expected, fix))


def parse_labels(value: str | None) -> dict:
    if value is None:
        return {"positive": "ANOMALOUS", "negative": "NORMAL"}
    parts = value.split(",")
    if len(parts) != 2 or not all(LABEL_RE.match(p) for p in parts) or parts[0] == parts[1]:
        raise _refuse(f"--labels {value!r}", "two different names POS,NEG of upper-case letters, digits and _ (e.g. EXPLOIT,BENIGN)", "Fix: --labels EXPLOIT,BENIGN")
    return {"positive": parts[0], "negative": parts[1]}


def _run_worker(python: str, args: list[str]) -> None:
    proc = subprocess.run([python, "-m", "att_model.byom_worker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.stdout:
        sys.stderr.write(proc.stdout)
    if proc.returncode != 0:
        msg = proc.stderr.strip()
        if msg.startswith("att_model import: refused.\n"):
            raise ImportRefused(msg.split("\n", 1)[1])
        raise SystemExit(f"att_model import: the scikit-learn worker failed (exit {proc.returncode}):\n{msg}")


# ------------------------------------------------------------------------------------------
def rows_from_marginals(path: str, features: list[str], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, E[x]) from a training_marginals.json: each feature independently, bin by its
    frequency, then uniform within the bin's [min, max]; E[x] = sum(freq * bin mean)."""
    from .marginals import load_marginals

    mg = load_marginals(path)
    missing = [f for f in features if f not in mg.features]
    if missing:
        raise _refuse(f"--marginals {path} lacks features {missing}", "marginals for every model feature", "Fix: give --check-rows CSV instead")
    rng = np.random.default_rng(seed)
    X = np.empty((n, len(features)))
    means = np.empty(len(features))
    for j, f in enumerate(features):
        m = mg.features[f]
        p = m.freq / m.freq.sum()
        b = rng.choice(len(p), size=n, p=p)
        X[:, j] = rng.uniform(m.lo[b], m.hi[b])
        means[j] = float((p * m.mean).sum())
    return X.astype(np.float32), means


def onnx_score(model_bytes: bytes, X: np.ndarray, input_name: str) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    (score,) = sess.run(["score"], {input_name: np.asarray(X, dtype=np.float32)})
    return np.asarray(score, dtype=np.float64).reshape(len(X))


def parity_report(ours: np.ndarray, ref: np.ndarray, threshold: float, rows_source: str, reference: str) -> dict:
    import onnxruntime

    diff = np.abs(ours - ref)
    rel = diff / np.maximum(1.0, np.abs(ref))
    mism = int(((ours >= threshold) != (ref >= threshold)).sum())
    worst = int(np.argmax(rel)) if len(rel) else 0
    return {
        "rows": int(len(ref)),
        "source": rows_source,
        "reference": reference,
        "ours": f"onnxruntime {onnxruntime.__version__}",
        "max_abs_diff": float(diff.max()) if len(diff) else 0.0,
        "max_rel_diff": float(rel.max()) if len(rel) else 0.0,
        "worst_row": {"index": worst, "reference": float(ref[worst]), "ours": float(ours[worst])} if len(ref) else None,
        "tolerance": {"rel": REL_TOLERANCE, "rule": TOLERANCE_RULE},
        "prediction_mismatches": mism,
        "passed": bool((rel <= REL_TOLERANCE).all() and mism == 0),
    }


def onnx_facts(model_bytes: bytes) -> dict:
    import onnx

    m = onnx.load_from_string(model_bytes)
    inputs = [i for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    if len(inputs) != 1:
        raise _refuse(f"an ONNX graph with {len(inputs)} inputs", "exactly one float32 input [N, n_features]", "Fix: export with one input tensor")
    inp = inputs[0]
    tt = inp.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "N") for d in tt.shape.dim]
    if tt.elem_type != onnx.TensorProto.FLOAT or len(dims) != 2 or not isinstance(dims[1], int) or dims[1] <= 0:
        raise _refuse(f"ONNX input {inp.name!r} of type {onnx.TensorProto.DataType.Name(tt.elem_type)} shape {dims}", "float32 [N, n_features]", "Fix: export with a float32 input [None, n_features]")
    outs = {o.name: o for o in m.graph.output}
    if "score" not in outs:
        raise _refuse(f"ONNX outputs {list(outs)}", "an output named `score` (float32 [N] or [N,1]) that is the model's score", "Fix: rename or add the output (e.g. with onnx.helper), see docs/model-formats.md")
    st = outs["score"].type.tensor_type
    sdims = [d.dim_value if d.HasField("dim_value") else "N" for d in st.shape.dim]
    if st.elem_type != onnx.TensorProto.FLOAT or not (len(sdims) == 1 or (len(sdims) == 2 and sdims[1] == 1)):
        raise _refuse(f"ONNX output `score` of type {onnx.TensorProto.DataType.Name(st.elem_type)} shape {sdims}", "float32 [N] or [N, 1]", "Fix: slice the positive-class column into `score`")
    return {
        "input": inp.name,
        "input_shape": ["N", dims[1]],
        "input_type": "float32",
        "outputs": [o.name for o in m.graph.output],
        "output_shape": ["N", 1] if len(sdims) == 2 else ["N"],
        "opsets": {o.domain: int(o.version) for o in sorted(m.opset_import, key=lambda o: o.domain)},
        "ir_version": int(m.ir_version),
    }


def _describe_score(kind: str, est_kind: str, positive_class, threshold: float, labels: dict) -> str:
    if kind == "probability":
        return f"probability (0..1) that the row is of class {json.dumps(positive_class)} by the {est_kind}; {labels['positive']} iff score >= {threshold}"
    if kind == "decision_function":
        return f"log-odds (decision_function) of class {json.dumps(positive_class)} by the {est_kind}; {labels['positive']} iff score >= {threshold}"
    return f"the model's anomaly score; {labels['positive']} iff score >= {threshold}"


def _training(args, features: list[str], model_bytes: bytes, input_name: str, threshold: float, score_kind: str) -> dict | None:
    if not getattr(args, "training_rows", None):
        return None
    X = data.read_matrix(args.training_rows, features)
    s = onnx_score(model_bytes, X.astype(np.float32), input_name)
    stats = card.score_stats(s, threshold) if score_kind != "decision_function" else {"anomaly_rate": float((s >= threshold).mean()), "n_anomalies": int((s >= threshold).sum())}
    return {
        "n_rows": int(len(X)),
        **stats,
        "feature_histograms": {n: card.feature_histogram(X[:, i]) for i, n in enumerate(features)},
        "histogram_semantics": card.HISTOGRAM_SEMANTICS,
        "provenance": {"all": f"computed from --training-rows {args.training_rows} scored by model.onnx (onnxruntime)"},
    }


def _write_folder(out_dir: Path, files: dict[str, bytes], doc: dict) -> dict:
    for name, b in files.items():
        (out_dir / name).write_bytes(b)
    doc["files"] = {name: {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for name, b in files.items()}
    card.write_card(doc, out_dir)
    return doc


# ------------------------------------------------------------------------------------------
def import_sklearn(args, path: Path, saved_as: str, version: str, *, display, command_line: str, resolve_out, make_version, load_tokens) -> dict:
    python = venvs.python_for(version)
    with tempfile.TemporaryDirectory(prefix="att-byom-") as tmp:
        work = Path(tmp)
        common = ["--file", str(path), "--saved-as", saved_as, "--work", str(work)]
        if args.positive_class is not None:
            common += ["--positive-class", args.positive_class]
        if args.score_kind is not None:
            common += ["--score-kind", args.score_kind]
        given = _given_features(args)
        if given is not None:
            common += ["--features-json", json.dumps(given)]
        if given is None and (args.check_rows or args.marginals):  # rows are read by name: ask the model for its names
            _run_worker(python, [*common, "--describe"])
            desc = json.loads((work / "info.json").read_text())
        else:
            desc = {"features": None, "n_features": len(given) if given else "?"}
        features = desc["features"] or given
        if features is None:
            raise _refuse(
                f"{path}: a model fitted on an unnamed array (no feature_names_in_) and no feature names",
                f"{desc['n_features']} feature names in model column order",
                "Fix: give --features a,b,c (model column order) or --features-from CSV (its sorted feature columns)",
            )
        if desc["features"] is not None and given is not None and list(given) != list(desc["features"]):
            raise _refuse(f"--features {given}", f"the model's own feature_names_in_ {desc['features']}", "Fix: drop --features (the file names its columns)")
        extra: list[str] = []
        reference_json = None
        if args.check_rows:
            X = data.read_matrix(args.check_rows, features).astype(np.float32)
            rows_source = "check-rows"
        elif args.marginals:
            X, means = rows_from_marginals(args.marginals, features, args.n_check_rows, args.check_seed)
            rows_source = "marginals"
            reference_json = work / "reference_means.json"
            reference_json.write_text(json.dumps([float(v) for v in means]))
        else:
            X = None
            rows_source = "estimator"
        if X is not None:
            np.save(work / "given_rows.npy", X)
            extra += ["--rows", str(work / "given_rows.npy")]
        else:
            extra += ["--n-rows", str(args.n_check_rows), "--seed", str(args.check_seed)]
        if reference_json is not None:
            extra += ["--reference-json", str(reference_json)]
        _run_worker(python, [*common, *extra, "--features-json", json.dumps(features)])
        info = json.loads((work / "info.json").read_text())
        model_bytes = (work / "model.onnx").read_bytes()
        explain_bytes = (work / "explain.json").read_bytes() if (work / "explain.json").exists() else None
        rows = np.load(work / "rows.npy")
        ref = np.load(work / "reference.npy")

    score_kind = info["score_kind"]
    threshold = DEFAULT_THRESHOLD[score_kind] if args.threshold is None else float(args.threshold)
    labels = parse_labels(args.labels)
    facts = onnx_facts(model_bytes)
    ours = onnx_score(model_bytes, rows, facts["input"])
    parity = parity_report(ours, ref, threshold, rows_source, info["reference"])
    if not parity["passed"]:
        raise _refuse(
            f"model.onnx disagrees with scikit-learn {version}: max relative diff {parity['max_rel_diff']:.3g} (tolerance {REL_TOLERANCE}), {parity['prediction_mismatches']} prediction mismatches over {parity['rows']} rows; worst row {parity['worst_row']}",
            TOLERANCE_RULE + ", and the same prediction (score >= threshold) on every row",
            "Fix: report it with the file; no model folder was written",
        )
    version_str, created_at = make_version(args)
    out_dir = resolve_out(args.out, version_str, args.force)
    tokens = load_tokens(args.tokens_json, features, args.token_match)
    est = {"kind": info["kind"], "class": info["class"], "steps": info["steps"], "sklearn_version": info["sklearn_version"], "saved_as": saved_as, "positive_class": info["positive_class"]}
    doc = {
        "format": FORMAT,
        "version": version_str,
        "created_at": created_at,
        "estimator": est,
        "features": features,
        "n_features": len(features),
        "token_match": args.token_match,
        "tokens": tokens,
        "score": {"kind": score_kind, "output": "score", "threshold": threshold, "labels": labels, "description": _describe_score(score_kind, info["kind"], info["positive_class"], threshold, labels)},
        "threshold": threshold,
        "parity": parity,
        "explain": info["explain"],
        **({"explain_unavailable": info["explain_unavailable"]} if info["explain"] is None else {}),
        "training": _training(args, features, model_bytes, facts["input"], threshold, score_kind),
        "source": {
            "kind": f"imported_{saved_as}",
            "file": display(path),
            "sha256": card.sha256_file(path),
            "origin": args.origin,
            "names_referenced": info["names"],
            "feature_names_from": info["feature_names_from"],
            "explain_check": info["explain_check"],
            "regenerate": [command_line],
            "note": f"loaded through the allow-list in scikit-learn {info['sklearn_version']} (its own venv), converted by skl2onnx {info['libraries']['skl2onnx']}",
        },
        "libraries": {"model_env": info["libraries"], "tooling": card.library_versions(venvs.tooling_sklearn_version())},
        "onnx": facts,
    }
    files = {"model.onnx": model_bytes}
    if explain_bytes is not None:
        files["explain.json"] = explain_bytes
    return {"doc": _write_folder(out_dir, files, doc), "out_dir": out_dir}


def _given_features(args) -> list[str] | None:
    if getattr(args, "features", None):
        return [f.strip() for f in args.features.split(",") if f.strip()]
    if getattr(args, "features_from", None):
        return data.feature_columns(args.features_from)
    return None


def import_onnx(args, path: Path, *, display, command_line: str, resolve_out, make_version, load_tokens) -> dict:
    """A plain .onnx file: the contract's checks, and parity against the `score` column of
    --check-rows (required: without a reference there is nothing to prove)."""
    model_bytes = path.read_bytes()
    facts = onnx_facts(model_bytes)
    features = _given_features(args)
    if features is None or len(features) != facts["input_shape"][1]:
        raise _refuse(f"{len(features) if features else 0} feature names for an ONNX input of width {facts['input_shape'][1]}", "--features a,b,c naming every input column in order", "Fix: --features " + ",".join(f"name{i}" for i in range(min(3, facts['input_shape'][1]))) + ",...")
    if args.score_kind is None:
        raise _refuse("a plain ONNX file without --score-kind", "--score-kind anomaly_score|probability|decision_function (what `score` means)", "Fix: add --score-kind probability (for example)")
    if not args.check_rows:
        raise _refuse("a plain ONNX file without --check-rows", "--check-rows CSV with the feature columns and a `score` column computed by the original model", "Fix: score the rows with the model that produced the ONNX file and give them with --check-rows")
    X = data.read_matrix(args.check_rows, features).astype(np.float32)
    ref = data.read_column(args.check_rows, "score")
    if ref is None:
        raise _refuse(f"{args.check_rows} has no `score` column", "the original model's score per row in a `score` column", "Fix: add it")
    threshold = DEFAULT_THRESHOLD[args.score_kind] if args.threshold is None else float(args.threshold)
    ours = onnx_score(model_bytes, X, facts["input"])
    parity = parity_report(ours, ref, threshold, "check-rows", f"the `score` column of {display(args.check_rows)}")
    if not parity["passed"]:
        raise _refuse(f"{path} does not reproduce the `score` column: max relative diff {parity['max_rel_diff']:.3g}, {parity['prediction_mismatches']} prediction mismatches", TOLERANCE_RULE, "Fix: check the feature order (--features) and the rows")
    labels = parse_labels(args.labels)
    version_str, created_at = make_version(args)
    out_dir = resolve_out(args.out, version_str, args.force)
    doc = {
        "format": FORMAT,
        "version": version_str,
        "created_at": created_at,
        "estimator": {"kind": None, "class": None, "steps": [], "sklearn_version": None, "saved_as": "onnx", "positive_class": None},
        "features": features,
        "n_features": len(features),
        "token_match": args.token_match,
        "tokens": load_tokens(args.tokens_json, features, args.token_match),
        "score": {"kind": args.score_kind, "output": "score", "threshold": threshold, "labels": labels, "description": _describe_score(args.score_kind, "ONNX model", None, threshold, labels)},
        "threshold": threshold,
        "parity": parity,
        "explain": None,
        "explain_unavailable": "a plain ONNX file: the tooling does not read tree or linear structure out of an arbitrary graph",
        "training": _training(args, features, model_bytes, facts["input"], threshold, args.score_kind),
        "source": {"kind": "imported_onnx", "file": display(path), "sha256": card.sha256_file(path), "origin": args.origin, "regenerate": [command_line]},
        "libraries": {"tooling": card.library_versions(None)},
        "onnx": facts,
    }
    return {"doc": _write_folder(out_dir, {"model.onnx": model_bytes}, doc), "out_dir": out_dir}


def now() -> tuple[str, str]:
    t = datetime.now(timezone.utc)
    return str(int(t.timestamp())), t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


__all__ = ["import_sklearn", "import_onnx", "skops_check", "ImportRefused", "UnsupportedModelError"]
