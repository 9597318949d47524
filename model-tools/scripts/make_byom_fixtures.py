"""Model folders and reference values for the TypeScript tests of bring-your-own-model (issue 15).

  model-tools/.venv/bin/python model-tools/scripts/make_byom_fixtures.py --out DIR
      [--sklearn 1.7.2|1.3.2] [--format pickle|joblib|skops] [--kinds a,b] [--shap-rows 3]

Trains every kind with that scikit-learn (make_byom_models.py, in its venv), imports each with
`python -m att_model import` and writes:
  DIR/check.csv                 2,000 rows: the feature columns (model column order) + label
  DIR/models/<kind>/            the imported folder (model.json, model.onnx, explain.json / forest.json)
  DIR/expected/<kind>.json      {kind, sklearn_version, method, features, threshold,
                                 scores: [scikit-learn's own score of every check.csv row, float64],
                                 predictions: ["ANOMALOUS"|"NORMAL"... by score >= threshold],
                                 shap: [{row, phi: [...], expected_value, value}]}   (att-model/2 only)
  DIR/manifest.json             what was made, with which versions
`scores` come from the original estimator in its own scikit-learn (predict_proba of the positive
class, decision_function, or -score_samples for IsolationForest) on the float32-cast rows;
`shap` is exact (brute force over feature subsets, explain_data.shap_brute_force) in the
explained space: phi sums with expected_value to value (the margin or the probability).
Nothing here is committed: tests call it into a temp folder (about 1 s per kind plus the
import).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from att_model import explain_data, venvs  # noqa: E402

EXT = {"pickle": "pkl", "joblib": "joblib", "skops": "skops"}
SCORE_CODE = r"""
import json, pickle, sys, numpy as np
m = pickle.load(open(sys.argv[1], "rb"))  # our own freshly trained file
X = np.load(sys.argv[2]).astype(np.float64)
kind, pos = sys.argv[3], json.loads(sys.argv[4])
if kind == "isolation_forest":
    s = -m.score_samples(X)
else:
    classes = list(m.classes_)
    s = m.predict_proba(X)[:, classes.index(pos)]
np.save(sys.argv[5], s)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sklearn", default=venvs.tooling_sklearn_version())
    ap.add_argument("--format", default="pickle", choices=list(EXT))
    ap.add_argument("--kinds", default=None)
    ap.add_argument("--shap-rows", type=int, default=3)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    python = venvs.python_for(args.sklearn)
    with tempfile.TemporaryDirectory(prefix="att-byom-fixtures-") as tmp:
        src = Path(tmp)
        cmd = [python, str(HERE / "make_byom_models.py"), "--out", str(src), "--formats", ",".join(sorted({"pickle", args.format}))]
        if args.kinds:
            cmd += ["--kinds", args.kinds]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        manifest = json.loads((src / "manifest.json").read_text())
        (out / "check.csv").write_bytes((src / "check.csv").read_bytes())
        features = manifest["features"]
        with open(src / "check.csv") as fh:
            X = np.array([[float(r[n]) for n in features] for r in csv.DictReader(fh)], dtype=np.float32)
        np.save(src / "X.npy", X)
        (out / "models").mkdir(exist_ok=True)
        (out / "expected").mkdir(exist_ok=True)
        made = {}
        for kind, files in manifest["models"].items():
            folder = out / "models" / kind
            imp = subprocess.run(
                [sys.executable, "-m", "att_model", "import", str(src / files[args.format]), "--out", str(folder), "--force",
                 "--features-from", str(src / "check.csv"), *([] if kind == "isolation_forest" else ["--check-rows", str(src / "check.csv")]), "--version", f"byom-{kind}"],
                capture_output=True, text=True,
            )  # fmt: skip
            if imp.returncode != 0:
                made[kind] = {"refused": imp.stderr.strip().splitlines()[-3:]}
                continue
            card = json.loads((folder / "model.json").read_text())
            pos = card.get("estimator", {}).get("positive_class")
            subprocess.run([python, "-c", SCORE_CODE, str(src / files["pickle"]), str(src / "X.npy"), kind, json.dumps(pos), str(src / "s.npy")], check=True)
            scores = np.load(src / "s.npy")
            thr = card["threshold"]
            labels = card.get("score", {}).get("labels", {"positive": "ANOMALOUS", "negative": "NORMAL"})
            exp = {
                "kind": kind,
                "sklearn_version": args.sklearn,
                "method": "score_samples (negated)" if kind == "isolation_forest" else "predict_proba",
                "features": card["features"],
                "threshold": thr,
                "scores": [float(s) for s in scores],
                "predictions": [labels["positive"] if s >= thr else labels["negative"] for s in scores],
            }
            if (folder / "explain.json").exists():
                doc = json.loads((folder / "explain.json").read_text())
                exp["shap"] = []
                for i in range(args.shap_rows):
                    x = X[i].astype(np.float64)
                    phi, ev = explain_data.shap_brute_force(doc, x)
                    exp["shap"].append({"row": i, "phi": [float(v) for v in phi], "expected_value": ev, "value": float(explain_data.explained_value(doc, x[None, :])[0])})
            (out / "expected" / f"{kind}.json").write_text(json.dumps(exp) + "\n")
            made[kind] = {"folder": f"models/{kind}", "format": card["format"]}
    (out / "manifest.json").write_text(json.dumps({"sklearn_version": args.sklearn, "saved_as": args.format, "models": made}, indent=2) + "\n")
    print(json.dumps({"out": str(out), "models": made}))


if __name__ == "__main__":
    main()
