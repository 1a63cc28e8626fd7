#!/usr/bin/env bash
# The CPC paper's Table 2 in miniature: phone probe accuracy against the number of steps predicted (K)
# and against the negative-sampling strategy. Short runs (STEPS each, default 200) of scripts/bench/cpc_speech.sh.
#   bash scripts/bench/cpc_steps_table.sh [OUT_ROOT] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=${1:-outputs/bench_cpc_table2}; STEPS=${2:-200}
run() {  # name, overrides...
  local name=$1; shift
  bash scripts/bench/cpc_speech.sh "$ROOT/$name" max_steps="$STEPS" evaluation.baselines=[] evaluation.tsne=false "$@" \
    > "$ROOT/$name.log" 2>&1
  python -c "import json,sys; r=json.load(open('$ROOT/$name/results.json')); print(f\"| $name | {r['linear_probe/cpc/phone']:.3f} | {r['linear_probe/cpc/speaker']:.3f} | {r['train/last_logged_loss']:.3f} |\")"
}
mkdir -p "$ROOT"
echo "| run | phone | speaker | last loss |"; echo "|---|---|---|---|"
for k in ${KS:-2 4 8 12 16}; do run "K=$k" model.num_prediction_steps="$k"; done
for neg in ${NEGATIVES:-same_sequence same_speaker mixed}; do run "neg=$neg" model.negative_sampling="$neg"; done
