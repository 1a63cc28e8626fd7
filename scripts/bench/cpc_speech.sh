#!/usr/bin/env bash
# CPC on the espeak-ng corpus, sized for 2 busy CPU cores (about 15 minutes), then the probe table.
#   bash scripts/bench/cpc_speech.sh [OUT_DIR] [extra key=value overrides...]
# One torch thread: on a shared 2-core machine a CPC step took 0.64 s with 1 thread, 2.0 s with 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-outputs/bench_cpc_speech}; shift || true
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 10 python -m hf_replearn.cli train recipes/cpc_speech.yaml \
  output_dir="$OUT" overwrite_output_dir=true \
  model.hidden_size=128 model.context_size=128 data.crop_samples=10240 \
  max_steps=600 logging_steps=50 save_steps=10000 learning_rate=0.0005 "$@"
cat "$OUT/results.json"
