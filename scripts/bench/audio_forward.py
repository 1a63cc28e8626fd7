"""Seconds per forward pass of 2 s of audio through the ``model_families`` bench's wav2vec2 and WavLM (its
``WAV2VEC_STYLE`` sizes, random weights, one thread, mean of 5 after a warm-up): where WavLM's probe time goes.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/audio_forward.py
"""

import time

import torch
import transformers as T

from scripts.bench.bench_model_families import WAV2VEC_STYLE

torch.set_num_threads(1)
for name, config in (("wav2vec2", T.Wav2Vec2Config(**WAV2VEC_STYLE)), ("wavlm", T.WavLMConfig(**WAV2VEC_STYLE))):
    torch.manual_seed(0)
    model, x = T.AutoModel.from_config(config).eval(), torch.randn(1, 32000)
    with torch.no_grad():
        model(x, output_hidden_states=True)
        start = time.perf_counter()
        for _ in range(5):
            model(x, output_hidden_states=True)
    print(f"{name}: {(time.perf_counter() - start) / 5:.3f} s per forward of 2 s of audio")
