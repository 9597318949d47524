#!/usr/bin/env bash
# Creates model-tools/.venv with the pinned requirements. Idempotent: re-installs only when
# requirements.txt (or the Python interpreter) changed since the last successful install.
#   usage: model-tools/setup.sh [--force]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
REQ="$HERE/requirements.txt"
MARKER="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

want="$( { cat "$REQ"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
have="$(cat "$MARKER" 2>/dev/null || true)"

# Makes `model-tools/.venv/bin/python -m att_model` work from any working directory.
link_package() {
  local site
  site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$HERE" > "$site/att_model_src.pth"
}

if [[ "${1:-}" != "--force" && -x "$VENV/bin/python" && "$want" == "$have" ]]; then
  link_package
  echo "model-tools: .venv is up to date ($VENV)"
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "model-tools: creating virtualenv $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
else
  echo "model-tools: requirements changed, re-installing into $VENV"
fi
echo "model-tools: installing pinned requirements from $REQ"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
link_package
echo "$want" > "$MARKER"
echo "model-tools: ready — $VENV/bin/python -m att_model --help"
