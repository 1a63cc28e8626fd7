"""Push a ~50 MB model to the local hub server and pull it back; check the bytes are equal and time both.

    python scripts/bench/hub_roundtrip.py [--mb 50]

Starts ``hf_replearn.hub.server`` on 127.0.0.1 (a free port) in a temporary directory, saves a BERT of
about ``--mb`` MB with ``save_pretrained``, pushes it with ``push_output_dir``, downloads it with
``snapshot_download`` into an empty cache, compares every file byte for byte, then loads it with
``from_pretrained`` and compares tensors. Prints one line of timings.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=50.0, help="approximate model size in MB (float32)")
    args = parser.parse_args()

    import torch
    from huggingface_hub import HfApi, snapshot_download
    from transformers import BertConfig, BertModel

    from hf_replearn.hub.push import push_output_dir
    from hf_replearn.hub.server import HubServer

    hidden = 256
    # BERT layer: ~12 h^2 parameters; embeddings: vocab * h. Solve for the layer count.
    layers = max(1, round((args.mb * 1e6 / 4 - 1000 * hidden) / (12 * hidden**2)))
    torch.manual_seed(0)
    model = BertModel(BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                                 intermediate_size=4 * hidden, vocab_size=1000))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model.save_pretrained(tmp / "run")
        size = sum(p.stat().st_size for p in (tmp / "run").iterdir())
        server = HubServer(tmp / "root", tokens=["bench"])
        server.start_in_thread()
        try:
            t0 = time.perf_counter()
            push_output_dir(tmp / "run", "bench/model", endpoint=server.url, token="bench")
            t_push = time.perf_counter() - t0
            t0 = time.perf_counter()
            local = snapshot_download("bench/model", endpoint=server.url, token="bench", cache_dir=tmp / "cache")
            t_pull = time.perf_counter() - t0
            files = sorted(p.name for p in (tmp / "run").iterdir())
            equal = all(filecmp.cmp(tmp / "run" / f, Path(local) / f, shallow=False) for f in files)
            loaded = BertModel.from_pretrained(local)
            same = all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
            commits = len(HfApi(endpoint=server.url).list_repo_commits("bench/model"))
        finally:
            server.stop()
    print(f"model {size / 1e6:.1f} MB ({layers} layers): push {t_push:.2f} s, pull {t_pull:.2f} s, "
          f"files equal byte for byte: {equal}, tensors equal: {same}, commits: {commits}")
    if not (equal and same):
        sys.exit(1)


if __name__ == "__main__":
    main()
