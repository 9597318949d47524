"""scikit-learn's own scores of feature rows, for the bring-your-own-model tests and benchmark.

Run with the Python of the scikit-learn version that saved the model (the tooling venv, or
.local/sklearn-envs/<version>/bin/python): the model file is loaded with the library's own
loader (pickle, joblib, skops — these are the tests' own files) and scored on the rows cast to
float32, as the worker sees them.

usage: python byom_reference.py MODEL_FILE ROWS_JSON OUT_JSON [--method auto|decision_function]
                                [--time-batch N --time-seconds S]
ROWS_JSON: {"features": [...], "rows": [[...], ...]} in model column order.
OUT_JSON:  {"sklearn_version", "method", "scores": [...]} and, with --time-batch, rows_per_s of
           the same call at that batch size (a loop over consecutive batches for S seconds).
"""

import argparse
import json
import pickle
import sys
import time
import warnings

import numpy as np
import sklearn


def load(path):
    if path.endswith(".skops"):
        import skops.io as sio

        return sio.load(path, trusted=sio.get_untrusted_types(file=path))
    if path.endswith(".joblib"):
        import joblib

        return joblib.load(path)
    with open(path, "rb") as fh:
        return pickle.load(fh)


def scorer(model, method):
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if type(final).__name__ == "IsolationForest":
        return "abs(score_samples)", lambda X: np.abs(model.score_samples(X))
    if method == "decision_function":
        return "decision_function", lambda X: model.decision_function(X)
    return "predict_proba[:, 1]", lambda X: model.predict_proba(X)[:, 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("rows")
    ap.add_argument("out")
    ap.add_argument("--method", default="auto")
    ap.add_argument("--time-batch", type=int, default=0)
    ap.add_argument("--time-seconds", type=float, default=2.0)
    a = ap.parse_args()
    warnings.simplefilter("error")  # an InconsistentVersionWarning means the wrong scikit-learn
    model = load(a.model)
    doc = json.load(open(a.rows))
    X = np.asarray(doc["rows"], dtype=np.float32).astype(np.float64)
    name, f = scorer(model, a.method)
    out = {"sklearn_version": sklearn.__version__, "method": name, "scores": f(X).astype(float).tolist()}
    if a.time_batch:
        b = a.time_batch
        n, i, t0 = 0, 0, time.perf_counter()
        while time.perf_counter() - t0 < a.time_seconds:
            start = (i * b) % max(1, len(X) - b)
            f(X[start : start + b])
            n += b
            i += 1
        out["rows_per_s"] = n / (time.perf_counter() - t0)
    json.dump(out, open(a.out, "w"))


if __name__ == "__main__":
    sys.exit(main())
