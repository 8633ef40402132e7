#!/usr/bin/env bash
# Set up, then index the bundled sample album and run a few searches.
# Uses PEAKLENS_MODEL when set (a real SigLIP-2 folder or hub id); otherwise, when the default model's weights
# are not on this machine, a tiny randomly initialised model so the whole pipeline runs offline (its rankings
# mean nothing: say so loudly).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PEAKLENS_DATA_DIR=${PEAKLENS_DATA_DIR:-$PWD/.peaklens/demo-store}
PL=.venv/bin/peaklens
if [ -z "${PEAKLENS_MODEL:-}" ] && ! .venv/bin/python -c "import sys; from peaklens.embed.loader import model_available; from peaklens.config import DEFAULT_MODEL; sys.exit(0 if model_available(DEFAULT_MODEL) else 1)"; then
  echo "!! The default model's weights are not on this machine; using a TINY RANDOM model (results mean nothing)."
  echo "!! For real results: PEAKLENS_MODEL=/path/to/siglip2-base-patch16-224 bash scripts/demo.sh"
  $PL dev tiny-model .cache/tiny-siglip >/dev/null
  export PEAKLENS_MODEL=$PWD/.cache/tiny-siglip
fi
set -x
$PL catalog build
$PL index sample_album
$PL index sample_album
$PL search "snowy mountain peak" --k 5
$PL search "Ama Dablam" --k 3 --json
$PL identify sample_album/mountains/picosdeeuropa_by_Aitzol_Berasategi.jpg
$PL similar sample_album/mountains/sunset_by_Aitzol_Berasategi.jpg --k 3
$PL peaks
