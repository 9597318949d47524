#!/usr/bin/env bash
# Creates the example subscriber's virtualenv with its pinned requirements, under the local state
# folder (<ATT_LOCAL_DIR>/venvs/python-subscriber, default .local/ of the repository). Idempotent:
# re-installs only when requirements.txt or the Python interpreter changed. Prints the venv's
# python on its last line.
#   usage: examples/python-subscriber/setup.sh [--force]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
LOCAL="${ATT_LOCAL_DIR:-$REPO/.local}"
VENV="$LOCAL/venvs/python-subscriber"
REQ="$HERE/requirements.txt"
MARKER="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

want="$( { cat "$REQ"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
have="$(cat "$MARKER" 2>/dev/null || true)"
if [[ "${1:-}" != "--force" && -x "$VENV/bin/python" && "$want" == "$have" ]]; then
  echo "python-subscriber: venv is up to date"
  echo "$VENV/bin/python"
  exit 0
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "python-subscriber: creating virtualenv $VENV with $("$PYTHON" --version)"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
else
  echo "python-subscriber: requirements changed, re-installing into $VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
echo "$want" > "$MARKER"
echo "$VENV/bin/python"
