#!/usr/bin/env bash
# The issue-6 table: every image method on Fashion-MNIST with the same encoder and the same step budget,
# then one probe of all of them against raw / PCA / ICA / dictionary / RBM / random-init features at 1% / 10% / 100%
# of the labels, with k-NN and k-means NMI. Writes outputs/bench/images/comparison.{md,json} and accuracy_vs_labels.png.
#   STEPS=2000 bash scripts/bench/images_table.sh        # a GPU takes minutes; 2 CPU cores take hours
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
STEPS=${STEPS:-2000}
OUT=${OUT:-outputs/bench/images}
mkdir -p "$OUT"
COMMON=(max_steps=$STEPS overwrite_output_dir=true evaluation.baselines=[] evaluation.tsne=false evaluation.labels_per_class=[10])
for recipe in simclr_fashion_mnist moco_fashion_mnist rotation_fashion_mnist context_fashion_mnist \
              inpainting_fashion_mnist autoencoder_fashion_mnist; do
  $PY -m hf_replearn train recipes/$recipe.yaml output_dir=$OUT/$recipe "${COMMON[@]}"
done
$PY - "$OUT" <<'PYEOF'
import sys
from hf_replearn.evaluation.compare import probe_many
out = sys.argv[1]
names = ["simclr", "moco", "rotation", "context", "inpainting", "autoencoder"]
probe_many([f"{out}/{n}_fashion_mnist" for n in names], "fashion_mnist", f"{out}/comparison", overwrite=True,
           baselines=["raw", "pca", "ica", "dictionary", "rbm", "random_init"], label_fractions=[0.01, 0.1, 1.0])
print(open(f"{out}/comparison/comparison.md").read())
PYEOF
