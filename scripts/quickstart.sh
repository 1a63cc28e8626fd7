#!/usr/bin/env bash
# Command 1 of the README: install what is missing, then train SimCLR on digits and print the probe table.
# Each run writes a new directory under outputs/, so nothing earlier is overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out="outputs/quickstart-$(date +%Y%m%d-%H%M%S)"
exec "${PYTHON:-python3}" -m hf_replearn train recipes/quickstart.yaml "output_dir=$out" "$@"
