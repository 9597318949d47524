#!/usr/bin/env bash
# Cross-check of the imported ATT model against REAL scikit-learn 1.1.x (the pickle's own
# major/minor; 1.1.1 has no Python 3.11 wheel, 1.1.3 reads the same node layout) and against
# skl2onnx's own conversion of that pickle (issue 5). Scores 50,000 rows (synthetic, synthetic
# with split thresholds +-1 float32 ulp, zeros with thresholds) with sklearn's own score_samples
# and predict and with skl2onnx's graph in onnxruntime, and compares them with att_model's exact
# scorer and the exported compact ONNX. verify_att.py prints one line per comparison and row set
# and exits 1 if any max |diff| exceeds its tolerance or any prediction differs.
# Run by model-tools/tests/test_att_reference_vs_sklearn.py.
#
# The sklearn 1.1 side runs in its own venv (requirements-sklearn-1.1.txt, every package
# pinned), cached at <repo>/.local/venvs/sklearn-1.1 and rebuilt only when those pins or the
# Python interpreter change (sha256 marker, as setup.sh does); the first build takes ~1 min.
# That side unpickles the pickle with plain pickle.load: do this only for the trusted reference
# file in ../shared/data, never for a pickle of unknown origin.
#   usage: model-tools/scripts/verify-att-against-sklearn-1.1.sh [venv dir]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
DATA="$REPO/../shared/data/att-reference"
VENV="${1:-$REPO/.local/venvs/sklearn-1.1}"
REQ="$HERE/scripts/requirements-sklearn-1.1.txt"
PYTHON="${PYTHON:-python3}"

[[ -f "$DATA/isolation_forest.pkl" ]] || { echo "ATT reference data not found at $DATA" >&2; exit 2; }

# Two runs at once (two test sessions) must not build the same venv concurrently.
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9
want="$( { cat "$REQ"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)" != "$want" ]]; then
  echo "building the scikit-learn 1.1 venv at $VENV (once; ~1 min)"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$REQ"
  "$VENV/bin/python" -m pip check --disable-pip-version-check
  echo "$want" >"$VENV/.requirements.sha256"
fi
flock -u 9

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$HERE/.venv/bin/python" "$HERE/scripts/verify_att.py" rows "$DATA" "$WORK"
"$VENV/bin/python" -W ignore "$HERE/scripts/sklearn_1_1_reference.py" "$DATA/isolation_forest.pkl" "$WORK"
"$HERE/.venv/bin/python" "$HERE/scripts/verify_att.py" compare "$DATA" "$WORK"
