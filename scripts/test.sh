#!/usr/bin/env bash
# Set up (venv, packages, Debian's chromium for the browser test) and run lint, type check and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# Debian packages the tests drive: chromium (browser test), exiftool (writes and reads EXIF/XMP fixtures)
need=""
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v exiftool >/dev/null 2>&1 || need="$need libimage-exiftool-perl"
if [ -n "$need" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
.venv/bin/ruff check peaklens tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
