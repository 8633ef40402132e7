#!/usr/bin/env bash
# Refresh the README's screenshots (docs/screenshots/*.png) from a real run of the browser tests.
# scripts/test.sh leaves the working tree as it found it: there the same tests write into build/screenshots/.
# Needs what scripts/test.sh sets up (.venv, Debian's chromium); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
SCREENSHOTS_DIR="$PWD/docs/screenshots" .venv/bin/python -m pytest -q -m browser \
  tests/ui/test_browser.py tests/ui/test_browser_correction.py "$@"
ls -l docs/screenshots/
