#!/usr/bin/env bash
# Create .venv and install peaklens with its test tools. Idempotent: a second run only checks.
# torch is the CPU build pinned to 2.13.0 (no multi-GB CUDA wheels); GPU users see README "GPU".
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.peaklens-installed
want=$(cat pyproject.toml scripts/bootstrap.sh | sha1sum | cut -c1-40)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
fi
