"""scikit-learn's own scores of feature rows, for the bring-your-own-model tests and benchmark.

Run with the Python of the scikit-learn version that saved the model (the tooling venv, or
.local/sklearn-envs/<version>/bin/python): the model file is loaded with the library's own
loader (pickle, joblib, skops — these are the tests' own files) and scored on the rows cast to
float32, as the worker sees them.

usage: python byom_reference.py JOBS_JSON OUT_JSON
JOBS_JSON: {"rows": [[...], ...], "jobs": [{"model": FILE, "method": "auto"|"decision_function",
           "time_batch": N (optional), "time_seconds": S (optional)}]}, rows in model column order.
OUT_JSON:  {"sklearn_version", "results": [{"method", "scores": [...], "rows_per_s"?}]}; with
           time_batch, rows_per_s of the same call at that batch size (consecutive batches for S
           seconds, after one warm-up call).
"""

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
    jobs_path, out_path = sys.argv[1], sys.argv[2]
    doc = json.load(open(jobs_path))
    X = np.asarray(doc["rows"], dtype=np.float32).astype(np.float64)
    results = []
    for job in doc["jobs"]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an InconsistentVersionWarning means the wrong scikit-learn
            model = load(job["model"])
            name, f = scorer(model, job.get("method", "auto"))
            res = {"method": name, "scores": f(X).astype(float).tolist()}
        b = job.get("time_batch")
        if b:
            f(X[:b])
            n, i, t0 = 0, 0, time.perf_counter()
            while time.perf_counter() - t0 < job.get("time_seconds", 2.0):
                start = (i * b) % max(1, len(X) - b)
                f(X[start : start + b])
                n += b
                i += 1
            res["rows_per_s"] = n / (time.perf_counter() - t0)
        results.append(res)
    json.dump({"sklearn_version": sklearn.__version__, "results": results}, open(out_path, "w"))


if __name__ == "__main__":
    sys.exit(main())
