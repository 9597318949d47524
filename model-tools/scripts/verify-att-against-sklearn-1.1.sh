#!/usr/bin/env bash
# One-off cross-check of the imported ATT model against REAL scikit-learn 1.1.x (the pickle's
# own major/minor; 1.1.1 has no Python 3.11 wheel, 1.1.3 reads the same node layout).
# Builds a throwaway venv outside the repo, scores 50,000 rows (synthetic, synthetic with split
# thresholds +-1 float32 ulp, zeros with thresholds) with sklearn's own score_samples, and
# compares them with att_model's exact scorer and the exported compact ONNX.
# It unpickles the pickle with plain pickle.load inside that throwaway venv: do this only for
# the trusted reference file in ../shared/data, never for a pickle of unknown origin.
#   usage: model-tools/scripts/verify-att-against-sklearn-1.1.sh [venv dir, default /tmp/att-sklearn-1.1]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$HERE/../../shared/data/att-reference"
VENV="${1:-/tmp/att-sklearn-1.1}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
[[ -x "$VENV/bin/python" ]] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q "scikit-learn==1.1.3" "numpy==1.23.5" "scipy==1.10.1"; }
"$HERE/.venv/bin/python" "$HERE/scripts/verify_att.py" rows "$DATA" "$WORK"
"$VENV/bin/python" -W ignore -c "
import pickle, sys, numpy as np, sklearn
m = pickle.load(open(sys.argv[1], 'rb'))
np.save(sys.argv[2] + '/sklearn.npy', m.score_samples(np.load(sys.argv[2] + '/rows.npy')))
print('scored with scikit-learn', sklearn.__version__)
" "$DATA/isolation_forest.pkl" "$WORK"
"$HERE/.venv/bin/python" "$HERE/scripts/verify_att.py" compare "$DATA" "$WORK"
