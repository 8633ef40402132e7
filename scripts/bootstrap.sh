#!/usr/bin/env bash
# Create .venv and install peaklens with its test tools. Idempotent: a second run only checks.
# torch is pinned to 2.13.0 and taken from PyTorch's CPU index: PyPI's default Linux wheel is the multi-GB CUDA
# build. Where that index cannot be reached (an offline mirror, a local wheel cache) pip falls back to plain
# torch==2.13.0 from the configured index. GPU users: TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
# bash scripts/bootstrap.sh (see README "GPU").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH="torch==2.13.0"
TORCH_INDEX_URL=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.peaklens-installed
want=$( (cat pyproject.toml scripts/bootstrap.sh; echo "$TORCH_INDEX_URL") | sha1sum | cut -c1-40)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  pip=(.venv/bin/python -m pip)
  "${pip[@]}" install -q --upgrade pip
  # one quick try (no retries, short timeout) so that a machine without that index falls back at once
  if ! "${pip[@]}" install -q --retries 0 --timeout 15 --index-url "$TORCH_INDEX_URL" "$TORCH" 2>/dev/null; then
    echo "bootstrap: $TORCH_INDEX_URL not reachable; installing $TORCH from the configured package index" >&2
    "${pip[@]}" install -q "$TORCH"
  fi
  "${pip[@]}" install -q -e ".[test]"
  echo "$want" > "$stamp"
fi
