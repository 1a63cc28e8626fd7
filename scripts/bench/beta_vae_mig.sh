#!/usr/bin/env bash
# beta-VAE on the project's sprites: the mutual information gap for beta = 1 (a plain VAE) and beta > 1.
#   STEPS=3000 bash scripts/bench/beta_vae_mig.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
STEPS=${STEPS:-3000}
OUT=${OUT:-outputs/bench/beta_vae}
mkdir -p "$OUT"
echo "| beta | MIG | shape probe (all labels) | final loss |"; echo "|---|---|---|---|"
for beta in 1 4 8; do
  $PY -m hf_replearn train recipes/beta_vae_sprites.yaml output_dir=$OUT/beta$beta model.beta=$beta max_steps=$STEPS \
    overwrite_output_dir=true evaluation.tsne=false evaluation.labels_per_class=[10] > $OUT-beta$beta.log 2>&1
  $PY -c "import json;r=json.load(open('$OUT/beta$beta/results.json'));print(f\"| $beta | {r['disentanglement/mig']:.3f} | {r['linear_probe/model/all']:.3f} | {r['train/last_logged_loss']:.1f} |\")"
done
