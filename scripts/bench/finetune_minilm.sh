#!/usr/bin/env bash
# Fine-tuning benchmarks on the shipped all-MiniLM-L6-v2 (CPU is enough; results in BENCHMARKS.md):
#   polarity (Pang & Lee, SST-2 style): full fine-tuning vs LoRA, accuracy / wall time / trainable parameters;
#   WordNet QA: SQuAD v1.1 and v2.0 EM / F1 (QA_LIMIT training questions, default 4000, for CPU time).
# Usage: bash scripts/bench/finetune_minilm.sh [OUT_DIR [RUNS [key=value ...]]]
#   RUNS: comma-separated subset of polarity_full,polarity_lora,squad,squad_v2 (default: all);
#   key=value overrides go to every run (e.g. dataset_limit=600 for a shorter CPU run).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-outputs/bench_finetune}
RUNS=${2:-polarity_full,polarity_lora,squad,squad_v2}
shift $(( $# < 2 ? $# : 2 ))
QA_LIMIT=${QA_LIMIT:-4000}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
EXTRA=("$@")
run() { [[ ",$RUNS," == *",$1,"* ]] || return 0; local name=$1; shift
        nice -n 10 python -m hf_replearn train "$@" output_dir="$OUT/$name" overwrite_output_dir=true "${EXTRA[@]}"; }
run polarity_full recipes/glue.yaml
run polarity_lora recipes/glue_lora.yaml
run squad recipes/squad.yaml dataset_limit="$QA_LIMIT" data.eval_limit=1000
run squad_v2 recipes/squad_v2.yaml dataset_limit="$QA_LIMIT" data.eval_limit=1000
python - "$OUT" <<'PY'
import json, sys, pathlib
for run in ("polarity_full", "polarity_lora", "squad", "squad_v2"):
    path = pathlib.Path(sys.argv[1]) / run / "results.json"
    if not path.is_file():
        continue
    r = json.loads(path.read_text())
    keys = [k for k in ("validation/accuracy", "validation/exact_match", "validation/exact", "validation/f1",
                        "validation/HasAns_f1", "validation/NoAns_exact", "model/trainable_params", "train/runtime_s") if k in r]
    print(run, {k: round(r[k], 4) for k in keys})
PY
