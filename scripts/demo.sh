#!/usr/bin/env bash
# Set up, then index the bundled sample album and run a few searches.
# Uses PEAKLENS_MODEL when set (a real SigLIP-2 folder or hub id); otherwise, when the default model's weights
# are not on this machine, a tiny randomly initialised model so the whole pipeline runs offline (its rankings
# mean nothing: say so loudly). Leaves ./peaklens.yaml naming that model and the demo's data dir, so that the
# README's commands (`.venv/bin/peaklens search …`) work afterwards as written; an existing one is kept.
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
if [ -e peaklens.yaml ]; then
  echo "peaklens.yaml exists and is kept; the demo used model ${PEAKLENS_MODEL:-(default)} and data dir $PEAKLENS_DATA_DIR."
else
  {
    echo "# written by scripts/demo.sh: the model and store the demo used (delete to go back to the defaults)"
    [ -n "${PEAKLENS_MODEL:-}" ] && echo "model: \"$PEAKLENS_MODEL\""
    echo "data_dir: \"$PEAKLENS_DATA_DIR\""
  } > peaklens.yaml
  echo "Wrote ./peaklens.yaml (model and data dir of this demo): commands run from here now use them."
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
