#!/usr/bin/env bash
# The MoCo paper's Figure 3 in miniature: linear-probe accuracy (all labels) against the number of negatives K
# for end-to-end (K = batch - 1), memory bank and MoCo, same steps and encoder. Prints a Markdown table.
#   STEPS=1500 bash scripts/bench/moco_figure3.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
STEPS=${STEPS:-1500}
OUT=${OUT:-outputs/bench/moco_figure3}
mkdir -p "$OUT"
COMMON=(max_steps=$STEPS overwrite_output_dir=true evaluation.baselines=[] evaluation.tsne=false
        evaluation.labels_per_class=[10] evaluation.kmeans_nmi=false)
echo "| mechanism | K | linear probe (all) | k-NN |"; echo "|---|---|---|---|"
for K in 256 1024 4096; do
  for mech in moco memory_bank; do
    $PY -m hf_replearn train recipes/moco_fashion_mnist.yaml output_dir=$OUT/$mech-$K model.key_mechanism=$mech \
      model.queue_size=$K "${COMMON[@]}" > $OUT-$mech-$K.log 2>&1
    $PY -c "import json;r=json.load(open('$OUT/$mech-$K/results.json'));print(f\"| $mech | $K | {r['linear_probe/model/all']:.3f} | {r['knn/model']:.3f} |\")"
  done
done
for B in 64 128 256; do  # end-to-end: K = B - 1 negatives from the batch
  $PY -m hf_replearn train recipes/moco_fashion_mnist.yaml output_dir=$OUT/end_to_end-$B model.key_mechanism=end_to_end \
    per_device_train_batch_size=$B "${COMMON[@]}" > $OUT-e2e-$B.log 2>&1
  $PY -c "import json;r=json.load(open('$OUT/end_to_end-$B/results.json'));print(f\"| end_to_end | $((B-1)) | {r['linear_probe/model/all']:.3f} | {r['knn/model']:.3f} |\")"
done
