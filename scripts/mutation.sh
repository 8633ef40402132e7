#!/usr/bin/env bash
# Mutation testing of the core modules with mutmut 3 (not in CI: minutes to an hour per module on 2 cores).
#
#   scripts/mutation.sh                  # every core module, one after another
#   scripts/mutation.sh names catalog    # just these
#   scripts/mutation.sh review           # the six mutations of the issue-10 review, each against test_core_math
#
# Each module runs in its own throw-away copy of the working tree under $MUTATION_WORK (default
# /tmp/peaklens-mutation), so the checkout never gains a mutants/ folder. mutmut's config goes into that copy's
# setup.cfg (mutmut reads setup.cfg when pyproject.toml has no [tool.mutmut]): mutate one module, run only that
# module's tests on each mutant. mutmut and the libraries it adds to the venv live in $MUTMUT_SITE (installed
# on first use), so the project's venv is not touched. Results: $MUTATION_WORK/<module>/summary.txt
# (score and every surviving mutant's diff); docs/TESTING.md records them with why each survivor is accepted.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
MUTMUT_VERSION="${MUTMUT_VERSION:-3.8.1}"
MUTMUT_SITE="${MUTMUT_SITE:-/tmp/peaklens-mutmut-site}"
MUTATION_WORK="${MUTATION_WORK:-/tmp/peaklens-mutation}"
SHARED="${SHARED:-$REPO/../shared}"
MAX_CHILDREN="${MAX_CHILDREN:-2}"

# module -> the source file it mutates and the test files run against each mutant
declare -A SOURCE=(
  [names]=peaklens/names.py
  [catalog]=peaklens/catalog.py
  [prompts]=peaklens/embed/prompts.py
  [search]=peaklens/search.py
  [geo]=peaklens/geo.py
  [enrich]=peaklens/enrich.py
  [filters]=peaklens/filters.py
  [exif]=peaklens/exif.py
)
declare -A TESTS=(
  [names]="tests/test_names.py"
  [catalog]="tests/test_catalog.py tests/test_core_math.py"
  [prompts]="tests/test_core_math.py tests/embed/test_prompts.py"
  # the album indexed on two stores (ids [embedded]/[noida]) is too slow per mutant: the chosen-vector tests run
  [search]="tests/test_core_math.py tests/test_search.py -k not-embedded-and-not-noida"
  [geo]="tests/test_geo.py"
  [enrich]="tests/test_enrich.py"
  [filters]="tests/test_filters.py"
  [exif]="tests/test_exif.py"
)
ORDER=(names catalog prompts search geo enrich filters exif)

if ! PYTHONPATH="$MUTMUT_SITE" "$PYTHON" -c "import mutmut, libcst, textual, coverage, setproctitle" 2>/dev/null; then
  # only what the venv lacks (--no-deps: pytest, click, rich... are the venv's own)
  "$PYTHON" -m pip install -q --no-deps --target "$MUTMUT_SITE" "mutmut==$MUTMUT_VERSION" coverage libcst \
    setproctitle textual platformdirs mdit-py-plugins linkify-it-py uc-micro-py
fi

copy_tree() {  # the working tree as it is now (tracked and untracked, not ignored) into $1
  local dest="$1"
  mkdir -p "$dest"
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
  done | tar --null -T - -cf -) | tar -C "$dest" -xf -
}

write_config() {  # $1 = copy, $2 = module
  local tests=""
  for t in ${TESTS[$2]}; do
    case "$t" in
      -k) tests+="    -k"$'\n' ;;
      not-*) tests+="    ${t//-/ }"$'\n' ;;
      *) [ -e "$1/$t" ] && tests+="    $t"$'\n' ;;
    esac
  done
  cat >"$1/setup.cfg" <<EOF
[mutmut]
source_paths = peaklens
only_mutate = ${SOURCE[$2]}
pytest_add_cli_args_test_selection =
$tests
pytest_add_cli_args = -p no:cacheprovider -x -q
process_isolation = forkserver
use_git_change_detection = false
mutate_only_covered_lines = false
timeout_multiplier = 10.0
EOF
}

run_module() {
  local module="$1" root="$MUTATION_WORK/$module"
  rm -rf "$root"
  mkdir -p "$root"
  ln -s "$(cd "$SHARED" && pwd)" "$root/shared"  # tests read ../shared from the repo and from mutants/
  copy_tree "$root/main"
  ln -s "$(cd "$SHARED" && pwd)" "$root/main/shared"
  write_config "$root/main" "$module"
  echo "== $module (${SOURCE[$module]}): tests ${TESTS[$module]}"
  (
    cd "$root/main"
    export PYTHONPATH="$MUTMUT_SITE"
    nice -n 10 "$PYTHON" -m mutmut run --max-children "$MAX_CHILDREN" >"$root/run.log" 2>&1 || true
    "$PYTHON" -m mutmut export-cicd-stats >/dev/null 2>&1 || true
    {
      echo "module: $module (${SOURCE[$module]})"
      echo "tree: $(cd "$REPO" && git rev-parse --short HEAD) + working-tree changes as of $(date -Iseconds)"
      cat mutants/mutmut-cicd-stats.json 2>/dev/null && echo
      "$PYTHON" -m mutmut results 2>/dev/null | grep -v ": killed" || true
      for name in $("$PYTHON" -m mutmut results 2>/dev/null | awk -F: '/: survived|: no tests|: timeout|: suspicious/ {print $1}'); do
        echo "---- $name"
        "$PYTHON" -m mutmut show "$name" 2>/dev/null || true
      done
    } >"$root/summary.txt"
  )
  head -n 4 "$root/summary.txt"
}

# The six mutations a review found surviving the suite (issue 10): file | code | mutated code.
REVIEW=(
  "rrf-rank-from-0|peaklens/search.py|enumerate(ranked, start=1)|enumerate(ranked, start=0)"
  "rrf-k-0|peaklens/search.py|RRF_K = 60|RRF_K = 0"
  "confidence-sigmoid-cos|peaklens/search.py|logit = embedder.logit_scale * cosine + embedder.logit_bias|logit = cosine"
  "anti-concept-added|peaklens/embed/prompts.py|vectors.mean(axis=0) - anti_concept_weight * anti|vectors.mean(axis=0) + anti_concept_weight * anti"
  "alpha-swapped|peaklens/catalog.py|l2_normalise(alpha * text_vec + (1.0 - alpha) * image_vec)|l2_normalise((1.0 - alpha) * text_vec + alpha * image_vec)"
  "peak-prompts-for-all|peaklens/embed/prompts.py|templates = PEAK_PROMPTS if is_peak else NEUTRAL_PROMPTS|templates = PEAK_PROMPTS"
)

review() {  # each mutation in its own copy; KILLED when tests/test_core_math.py fails on it
  local entry name file old new root status=0
  for entry in "${REVIEW[@]}"; do
    IFS='|' read -r name file old new <<<"$entry"
    root="$MUTATION_WORK/review/$name"
    rm -rf "$root"
    copy_tree "$root/main"
    ln -s "$(cd "$SHARED" && pwd)" "$root/shared"
    if ! "$PYTHON" - "$root/main/$file" "$old" "$new" <<'PY'
import sys
path, old, new = sys.argv[1:]
text = open(path, encoding="utf-8").read()
if text.count(old) != 1:
    sys.exit(f"{path}: the code to mutate was found {text.count(old)} times (changed?): {old}")
open(path, "w", encoding="utf-8").write(text.replace(old, new))
PY
    then
      status=1
      continue
    fi
    if (cd "$root/main" && nice -n 10 "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_core_math.py >"$root.log" 2>&1); then
      echo "SURVIVED $name"
      status=1
    else
      echo "KILLED   $name by: $(grep -o '^FAILED [^ ]*' "$root.log" | sed 's/^FAILED tests\/test_core_math.py:://' | tr '\n' ' ')"
    fi
  done
  return $status
}

if [ "${1:-}" = review ]; then
  review
  exit $?
fi

modules=("$@")
[ ${#modules[@]} -eq 0 ] && modules=("${ORDER[@]}")
for module in "${modules[@]}"; do
  [ -n "${SOURCE[$module]:-}" ] || { echo "unknown module $module (one of: ${ORDER[*]})" >&2; exit 2; }
  run_module "$module"
done
