#!/usr/bin/env bash
# Prepares, on a machine with network and the Debian data packages, what scripts/bench/gpu_check.sh needs on a
# GPU machine that can fetch nothing: the Python wheels its image lacks (.whl/) and a copy of the embedded
# data under .gpu_data/ (read there through HF_REPLEARN_DATA_ROOT), small enough to travel with the working
# tree (about 60 MiB in all). Prints the paths to carry and the command to run there.
#
#   scripts/bench/gpu_prepare.sh            # then run the printed command on the GPU machine
#
# What travels (defaults, sizes measured when written):
#   .whl/        datasets, dill, multiprocess, evaluate, kornia, kornia_rs as cp312 manylinux wheels (9 MiB),
#                the versions installed here, so the GPU runs the library versions the tests pass with;
#   .gpu_data/   Fashion-MNIST's first GPU_FMNIST_TRAIN / GPU_FMNIST_TEST images (default 12,000 / 2,000: the
#                full set is 30 MiB; 0 copies it whole), the fortunes files, a slice of the Python documentation
#                sources, the polarity csv, the emoji font and tables, and the King James text as `bible`
#                prints it, behind a `bible` stand-in that replays it (the real program needs its own data
#                files in /usr/lib).
# Not copied (gpu_check.sh skips their recipes and says why): WordNet (22 MiB, squad*), espeak-ng with its
# voices and libraries (cpc_speech), the all-MiniLM-L6-v2 wheel (84 MiB, glue* and squad* by default; glue*
# run there on the mlm_bert checkpoint of the same check instead).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}

# ------------------------------------------------------------------------------------------------- wheels
# The GPU image already has torch, transformers, accelerate, peft, tokenizers, safetensors, huggingface_hub,
# scikit-learn, scipy, pandas, pyarrow, xxhash, fsspec, requests, tqdm, pyyaml, jinja2, matplotlib.
MISSING="datasets dill multiprocess evaluate kornia kornia_rs"
rm -rf .whl && mkdir -p .whl
specs=()
for name in $MISSING; do
  version=$($PY -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")
  specs+=("$name==$version")
done
echo "wheels: ${specs[*]}"
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${specs[@]}" 2>&1 | grep -v "is ignored" || true
[ "$(ls .whl/*.whl | wc -l)" -eq "$(echo $MISSING | wc -w)" ] || { echo "gpu_prepare: a wheel is missing in .whl/" >&2; exit 1; }

# --------------------------------------------------------------------------------------------------- data
rm -rf .gpu_data && mkdir -p .gpu_data
R=.gpu_data/root   # HF_REPLEARN_DATA_ROOT there: /usr/share/... is read as $R/usr/share/...
copy() {  # copy SRC to the same path under $R, or say it is missing
  if [ -e "$1" ]; then mkdir -p "$R$(dirname "$1")" && cp -L "$1" "$R$1"; else echo "gpu_prepare: $1 missing here, not copied" >&2; fi
}

GPU_FMNIST_TRAIN=${GPU_FMNIST_TRAIN:-12000} GPU_FMNIST_TEST=${GPU_FMNIST_TEST:-2000} $PY - "$R" <<'PYEOF'
import gzip, os, shutil, sys
from pathlib import Path

src, dst = Path("/usr/share/datasets/fashion-mnist"), Path(sys.argv[1] + "/usr/share/datasets/fashion-mnist")
if not src.is_dir():
    sys.exit("gpu_prepare: Fashion-MNIST is not installed here (apt-get install dataset-fashion-mnist)")
dst.mkdir(parents=True, exist_ok=True)
for prefix, keep in (("train", int(os.environ["GPU_FMNIST_TRAIN"])), ("t10k", int(os.environ["GPU_FMNIST_TEST"]))):
    for kind in ("images-idx3", "labels-idx1"):
        name = f"{prefix}-{kind}-ubyte.gz"
        if not keep:
            shutil.copyfile(src / name, dst / name)
            continue
        data = gzip.decompress((src / name).read_bytes())
        ndim = data[3]
        shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
        row = 1
        for n in shape[1:]:
            row *= n
        n = min(keep, shape[0])  # idx header: magic, then the dimensions, the first one the count
        header = data[:4] + n.to_bytes(4, "big") + data[8 : 4 + 4 * ndim]
        body = data[4 + 4 * ndim : 4 + 4 * ndim + n * row]
        (dst / name).write_bytes(gzip.compress(header + body, 6))
print(f"Fashion-MNIST: {os.environ['GPU_FMNIST_TRAIN']} train / {os.environ['GPU_FMNIST_TEST']} test images (0: all)")
PYEOF

# fortunes: the regular files the loaders read (no index .dat files, no links)
if [ -d /usr/share/games/fortunes ]; then
  mkdir -p $R/usr/share/games/fortunes
  find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.*' -exec cp {} $R/usr/share/games/fortunes/ \;
fi

# Python documentation: about 1.5 MiB of the library reference (the whole set is 12 MiB)
docs=$(ls -d /usr/share/doc/python3*/html/_sources 2>/dev/null | xargs -r -n1 readlink -f | sort -u | head -1)
if [ -n "$docs" ]; then
  mkdir -p $R/usr/share/doc/python3/html/_sources/library
  total=0
  for f in $(ls "$docs"/library/*.txt | sort); do
    cp "$f" $R/usr/share/doc/python3/html/_sources/library/
    total=$((total + $(stat -c %s "$f")))
    [ $total -gt 1500000 ] && break
  done
fi

copy "/usr/share/doc/python3-pattern/test/corpora/polarity-en-pang&lee2.csv"
copy /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
copy /usr/share/unicode/emoji/emoji-test.txt
copy /usr/share/unicode/cldr/common/annotations/en.xml

# King James Bible: the text `bible` prints for the range the loader asks for, and a stand-in that prints it
if command -v bible >/dev/null; then
  mkdir -p .gpu_data/bin
  bible gen1:1-rev22:21 | gzip -6 > .gpu_data/kjv-bible.txt.gz
  cat > .gpu_data/bin/bible <<'SHEOF'
#!/bin/sh
# Replays `bible gen1:1-rev22:21` as recorded by scripts/bench/gpu_prepare.sh; any other request fails.
[ "$*" = "gen1:1-rev22:21" ] || { echo "this bible stand-in only prints gen1:1-rev22:21" >&2; exit 2; }
exec gzip -dc "$(dirname "$0")/../kjv-bible.txt.gz"
SHEOF
  chmod +x .gpu_data/bin/bible
else
  echo "gpu_prepare: the bible program is missing here; mlm_bert, word2vec and mlm_throughput will fail there" >&2
fi

# -------------------------------------------------------------------------------------------------- sizes
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
whl=$(du -sb .whl | cut -f1); data=$(du -sb .gpu_data | cut -f1)
total=$((tree + whl + data))
awk -v t="$tree" -v w="$whl" -v d="$data" -v s="$total" 'BEGIN { m = 1048576;
  printf "sizes: tracked files %.1f MiB, .whl %.1f MiB, .gpu_data %.1f MiB, total %.1f MiB (limit 64)\n", t/m, w/m, d/m, s/m }'
[ $total -lt $((62 * 1048576)) ] || { echo "gpu_prepare: over 62 MiB; lower GPU_FMNIST_TRAIN" >&2; exit 1; }
echo "carry: [\".whl\", \".gpu_data\"]"
echo "command: bash scripts/bench/gpu_check.sh"
echo "(device run tool: command 'bash scripts/bench/gpu_check.sh', carry ['.whl', '.gpu_data'], timeout_s 600; the log comes back as \$OUT/gpu_check.log)"
