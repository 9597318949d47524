"""scikit-learn's own speed per bring-your-own-model kind, for the TypeScript benchmark to set
its engine against in the same run (issue 15).

  model-tools/.venv/bin/python model-tools/scripts/bench_sklearn_kinds.py [--models DIR] [--batch 256]
      [--rows 2560] [--min-seconds 1.0] [--onnx DIR]

--models: a folder written by make_byom_models.py (default: one is made in a temp folder with
this interpreter's scikit-learn). For each kind it times `predict_proba` (classifiers) or
`score_samples` (IsolationForest) over the check rows in batches of --batch rows, repeating
whole passes until --min-seconds have elapsed; with --onnx DIR (imported folders DIR/<kind>/
model.onnx) also onnxruntime-python on the same batches. Prints one JSON object:

  {"sklearn_version", "numpy_version", "batch", "rows", "threads": 1,
   "kinds": {"<kind>": {"method", "rows_per_s", "seconds", "rows_scored",
                        "onnxruntime_python_rows_per_s"?}}}

Threads are pinned to 1 (OMP/OpenBLAS via threadpoolctl, onnxruntime intra-op 1) so the figure
compares like with like against one Node.js worker.
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def load_rows(path: Path, names: list[str]) -> np.ndarray:
    with open(path) as fh:
        return np.array([[float(r[n]) for n in names] for r in csv.DictReader(fh)], dtype=np.float32)


def timed(fn, batches: list[np.ndarray], min_seconds: float) -> tuple[float, int]:
    fn(batches[0])  # warm-up
    n = 0
    start = time.perf_counter()
    while True:
        for b in batches:
            fn(b)
            n += len(b)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rows", type=int, default=2560)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--onnx", help="folder of imported model folders named by kind")
    args = ap.parse_args()
    import sklearn
    from threadpoolctl import threadpool_limits

    tmp = None
    models = Path(args.models) if args.models else None
    if models is None:
        tmp = tempfile.TemporaryDirectory(prefix="att-bench-byom-")
        models = Path(tmp.name)
        subprocess.run([sys.executable, str(Path(__file__).with_name("make_byom_models.py")), "--out", str(models), "--formats", "pickle"], check=True, stdout=subprocess.DEVNULL)
    manifest = json.loads((models / "manifest.json").read_text())
    if manifest["sklearn_version"] != sklearn.__version__:
        raise SystemExit(f"{models} was written by scikit-learn {manifest['sklearn_version']}; run this script with that version's Python")
    X = load_rows(models / "check.csv", manifest["features"])
    X = np.resize(X, (args.rows, X.shape[1])).astype(np.float64)  # sklearn scores float64 input
    batches = [X[i : i + args.batch] for i in range(0, len(X), args.batch)]
    out = {"sklearn_version": sklearn.__version__, "numpy_version": np.__version__, "batch": args.batch, "rows": len(X), "threads": 1, "kinds": {}}
    with threadpool_limits(1):
        for kind, files in manifest["models"].items():
            if "pickle" not in files:
                continue
            model = pickle.loads((models / files["pickle"]).read_bytes())  # our own file, just written
            method = "score_samples" if kind == "isolation_forest" else "predict_proba"
            fn = getattr(model, method)
            seconds, n = timed(fn, batches, args.min_seconds)
            rec = {"method": method, "rows_per_s": n / seconds, "seconds": seconds, "rows_scored": n}
            if args.onnx and (Path(args.onnx) / kind / "model.onnx").exists():
                import onnxruntime as ort

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = 1
                opts.inter_op_num_threads = 1
                sess = ort.InferenceSession(str(Path(args.onnx) / kind / "model.onnx"), opts, providers=["CPUExecutionProvider"])
                inp = sess.get_inputs()[0].name
                b32 = [b.astype(np.float32) for b in batches]
                s2, n2 = timed(lambda b: sess.run(["score"], {inp: b}), b32, args.min_seconds)
                rec["onnxruntime_python_rows_per_s"] = n2 / s2
            out["kinds"][kind] = rec
    print(json.dumps(out, indent=2))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
