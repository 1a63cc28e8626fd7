#!/usr/bin/env bash
# Every shipped recipe at smoke size, timed: the markdown table of BENCHMARKS.md's smoke_runs section.
#   OMP_NUM_THREADS=1 hf-replearn train recipes/X.yaml max_steps=3 dataset_limit=64 training.output_dir=OUT/X
# Columns: wall seconds (/usr/bin/time %e), CPU seconds (user + system), the 1-minute load average when the run
# started (the machine may be shared: wall time grows with the load, CPU time does not).
# Usage: bash scripts/bench/smoke_runs.sh [OUT_DIR [RECIPE ...]]   (default: every recipes/*.yaml)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/smoke}
shift $(( $# < 1 ? $# : 1 ))
RECIPES=("$@")
[[ ${#RECIPES[@]} -gt 0 ]] || RECIPES=($(ls recipes/*.yaml | xargs -n1 basename | sed 's/\.yaml$//'))
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
echo "| recipe | exit | wall s | CPU s | load at start |"
echo "|---|---|---|---|---|"
for r in "${RECIPES[@]}"; do
  rm -rf "$OUT/$r"
  mkdir -p "$OUT"
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -o "$OUT/$r.time" -f "%e %U %S" python -m hf_replearn train "recipes/$r.yaml" max_steps=3 dataset_limit=64 \
    "training.output_dir=$OUT/$r" > "$OUT/$r.log" 2>&1
  code=$?
  read -r wall user sys < <(tail -1 "$OUT/$r.time")
  printf "| %s | %s | %s | %.1f | %s |\n" "$r" "$code" "$wall" "$(echo "$user + $sys" | bc)" "$load"
done
