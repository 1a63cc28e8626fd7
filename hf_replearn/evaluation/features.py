"""Frozen features of any model the probe reads: this toolkit's checkpoints and any transformers model.

A model comes from a local folder or a hub id, through ``AutoModel`` (safetensors only; its own code runs
only with ``trust_remote_code``). Its preprocessor comes from the same folder: a tokenizer for text, an
image processor for vision models. This toolkit's image families are read through ``get_representation``
(h = f(x)); every other model through ``output_hidden_states=True``, one hidden state per layer (the
embeddings are layer 0), pooled over the sequence:

- ``mean``: the attention-masked mean over tokens (the default for encoders: sentence-transformers' choice);
- ``cls``: the first token;
- ``last``: the last non-padding token (the default for decoder LMs, where only it has seen the whole text).

Features are computed once, batched, under ``torch.inference_mode()``, in bf16 autocast where the hardware has
it (in fp32 otherwise, linear layers from packed weights: :mod:`.fast_inference`), and kept on disk
(``$HF_REPLEARN_CACHE/features``, default ``~/.cache/hf_replearn/features``) under a hash of the weights files'
contents (sha256), the inputs and the readout, so probing the same model again does no forward pass, and weights
rewritten in place (same name, size and mtime) are never served stale features. Every layer is cached at once:
``--layer 3`` after ``--layer all`` is free. Speech models' frame features (one (T, D) array per clip) go
through the same cache (``clip_features``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fast_inference import fast_inference
from hf_replearn.utils.files import cache_dir

POOLINGS = ("mean", "cls", "last")
# model_type of decoder-only LMs whose configs do not say is_decoder (GPT-2's does not)
DECODER_TYPES = {"gpt2", "gpt_neo", "gpt_neox", "gptj", "llama", "mistral", "mixtral", "qwen2", "qwen3", "opt",
                 "bloom", "falcon", "phi", "phi3", "gemma", "gemma2", "olmo", "smollm3", "codegen"}  # fmt: skip
TOWERS = ("image_tower", "text_tower")  # the ProbeModel kinds that read one tower of a dual encoder
MODALITY_OF_INPUT = {"input_ids": "text", "pixel_values": "image", "input_values": "audio", "input_features": "audio"}
CACHE_VERSION = 1  # bump when the way features are computed changes, so old cache entries are not reused


def cache_root() -> Path:
    return cache_dir("features")


def default_pooling(config) -> str:
    """``last`` for decoder LMs (config.is_decoder, a *ForCausalLM architecture, or a decoder model_type), else ``mean``."""
    archs = getattr(config, "architectures", None) or []
    decoder = (getattr(config, "is_decoder", False) or getattr(config, "model_type", "") in DECODER_TYPES
               or any(a.endswith("ForCausalLM") or a.endswith("LMHeadModel") for a in archs))  # fmt: skip
    return "last" if decoder else "mean"


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """(B, T, D) hidden states and (B, T) 0/1 mask -> (B, D); conv maps (B, C, H, W) are averaged over space."""
    if hidden.dim() == 4:
        return hidden.float().mean(dim=(2, 3))
    hidden, mask = hidden.float(), mask.to(hidden.device).float()
    if pooling == "mean":
        return (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
    if pooling == "cls":
        return hidden[:, 0]
    # last non-padding position, for right- and left-padded batches alike: the largest index where mask is 1
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last = (positions * mask).argmax(dim=1)
    return hidden[torch.arange(len(hidden), device=hidden.device), last]


@dataclass
class Readout:
    """How hidden states become one vector per example (every layer is kept; the probe picks them)."""

    pooling: str | None = None
    """``mean``, ``cls`` or ``last``; None: the model's default (``default_pooling``)."""
    batch_size: int = 64
    max_length: int = 256
    """Tokens kept per text (longer ones are truncated)."""
    precision: str = "auto"
    """``auto`` (bf16 autocast where the hardware has it), ``fp32`` or ``bf16``."""
    cache: bool = True

    def use_bf16(self, device: torch.device) -> bool:
        if self.precision == "auto":
            from hf_replearn.utils.hardware import bf16_native

            return bf16_native() and (device.type != "cpu" or not torch.cuda.is_available())
        return self.precision == "bf16"


@dataclass
class ProbeModel:
    """A model loaded for probing: its name in tables, where it came from, the module, its preprocessor."""

    name: str
    source: str
    model: torch.nn.Module
    modality: str  # text, image or audio
    processor: object = None
    kind: str = "transformers"  # or this toolkit's "image_family" (get_representation), "word2vec", "cpc", or TOWERS
    seed: int | None = None  # set for a random-init copy: it is part of the cache key
    shown_as: str | None = None  # how tables name the source when it is not ``source`` (a LoRA run's merged model)
    hidden_count: int | None = None
    """How many hidden states the model returns, as ``check_hidden_states`` counted them: configs do not say it
    alike (a ResNet's or ConvNeXT's has no ``num_hidden_layers``, a MobileViT returns no embeddings)."""

    @property
    def toolkit_image(self) -> bool:
        """Read through ``get_representation`` on [0, 1] pixels (an image family, or a dual encoder's image tower)."""
        return self.kind in ("image_family", "image_tower")

    @property
    def image_config(self):
        """The config that holds ``image_size`` and ``num_channels``: a dual encoder's vision config."""
        return getattr(self.model.config, "vision_config", None) or self.model.config

    @property
    def shown_source(self) -> str:
        """``source`` as tables and cards show it: a folder inside an installed package by the package's name."""
        from hf_replearn.models.pretrained import display_name

        return self.shown_as or display_name(self.source)

    @property
    def shown_class(self) -> str:
        """The class tables name: a tower's model, an encoder-decoder's encoder as such (``readable_part``)."""
        name = type(self.model.model if self.kind in TOWERS else self.model).__name__
        if self.kind == "transformers" and getattr(self.model.config, "is_encoder_decoder", False):
            return f"the encoder of a {(self.model.config.architectures or ['encoder-decoder model'])[0]}: {name}"
        return name

    @property
    def num_layers(self) -> int:
        if self.kind != "transformers":
            return 1
        return self.hidden_count or self.model.config.num_hidden_layers + 1

    def identity(self) -> dict:
        """What the features depend on besides the inputs: the weights files, or config and seed for a fresh copy."""
        ident = {"class": type(self.model).__name__, "config": self.model.config.to_diff_dict()}
        if self.seed is not None:
            return {**ident, "random_init_seed": self.seed}
        return {**ident, "weights": self.weights_digest or self.source}

    @cached_property
    def weights_digest(self) -> list[tuple[str, str]]:
        """(name, sha256 of the contents) of every safetensors file in the model's folder; [] for a hub id.

        By content, not by size and mtime: a rewrite of the same size within the file system's mtime resolution (or
        a copy that keeps mtime) must not hit the old entry. Streamed, once per loaded model: 0.13 s wall (0.06 s CPU) for the 91 MB MiniLM."""
        folder = Path(self.source)
        files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
        digests = []
        for f in files:
            with open(f, "rb") as handle:
                digests.append((f.name, hashlib.file_digest(handle, "sha256").hexdigest()))
        return digests

    def random_init(self, seed: int = 0) -> ProbeModel:
        """The same architecture with fresh weights (seeded), and the same preprocessor."""
        torch.manual_seed(seed)
        if self.kind in TOWERS:
            fresh = self.model.fresh()
        elif self.kind == "transformers":
            fresh = readable_part(_auto_model().from_config(self.model.config))
        else:
            fresh = type(self.model)(self.model.config)
        return ProbeModel("random_init", self.source, fresh.eval().to(self.device), self.modality, self.processor,
                          self.kind, seed, hidden_count=self.hidden_count)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def _auto_model():
    import hf_replearn.models  # noqa: F401  (registers this toolkit's families with AutoModel)
    from transformers import AutoModel

    return AutoModel


def readable_part(model):
    """What the probe reads of a model: an encoder-decoder's encoder (T5, BART: its decoder needs decoder inputs
    and describes the target, not the input), else the model itself."""
    return model.get_encoder() if getattr(model.config, "is_encoder_decoder", False) else model


def tower_embeddings(output) -> torch.Tensor:
    """What a dual encoder's ``get_image_features`` / ``get_text_features`` return: the embeddings, or (transformers
    5) an output whose ``pooler_output`` holds them."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def is_dual_encoder(model) -> bool:
    """An image-text model with both towers (transformers' ``CLIPModel``, ``VisionTextDualEncoderModel``, SigLIP)."""
    return hasattr(model, "get_image_features") and hasattr(model, "get_text_features")


class Tower(torch.nn.Module):
    """One tower of a dual encoder, read alone; ``fresh`` is the same tower of the same architecture at random init."""

    def __init__(self, model, processor=None):
        super().__init__()
        self.model, self.processor = model, processor
        self.config = model.config

    def fresh(self) -> Tower:
        return type(self)(_auto_model().from_config(self.model.config), self.processor)


class ImageTower(Tower):
    """The image tower of a dual encoder, read as the probe reads this toolkit's image families:
    ``get_representation(x)`` on (B, C, H, W) pixels in [0, 1] -> the joint-space image embeddings.

    With the model's image processor (a CLIP from the hub ships one), the pixels go through it first (its resize and
    normalisation); without one (the clip recipe's runs, trained on [0, 1] pixels) they go in as they are."""

    def get_representation(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if self.processor is not None:
            images = (pixel_values * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
            pixel_values = self.processor(images=list(images), return_tensors="pt")["pixel_values"].to(pixel_values.device)
        return tower_embeddings(self.model.get_image_features(pixel_values=pixel_values))


class TextTower(Tower):
    """The text tower of a dual encoder: tokenized text (the tokenizer saved beside the model) -> the joint-space
    text embeddings of ``get_text_features``, pooled as the model pools them (CLIP: its end-of-text token)."""

    def text_features(self, inputs: dict) -> torch.Tensor:
        accepted = inspect.signature(self.model.get_text_features).parameters
        return tower_embeddings(self.model.get_text_features(**{k: v for k, v in inputs.items() if k in accepted}))


def load_probe_model(source: str, name: str | None = None, trust_remote_code: bool = False,
                     dataset_modality: str | None = None) -> ProbeModel:
    """A local folder (with config.json) or a hub id -> ProbeModel; UserError if it cannot be loaded.

    ``dataset_modality`` (``text``, ``image``, ``audio`` or None: unknown) picks the tower of a dual encoder: its
    text tower for text, else its image tower. A LoRA run (its folder, or the hub repo it was pushed to) is read
    through the merged model it saved."""
    from hf_replearn.models.pretrained import adapter_base_problem, lora_merged_model
    from hf_replearn.utils.inputs import LORA_MERGED

    merged = lora_merged_model(source)
    if merged is None:
        problem = adapter_base_problem(source)
        if problem:
            raise UserError(problem)
        return _load_probe_model(source, name, trust_remote_code, dataset_modality)
    print(f"--model {source}: a LoRA run; probing {merged}, its base with the adapter folded in", flush=True)
    pm = _load_probe_model(str(merged), name, trust_remote_code, dataset_modality)
    pm.shown_as = f"{source} ({LORA_MERGED}/)"
    return pm


def _load_probe_model(source: str, name: str | None, trust_remote_code: bool, dataset_modality: str | None) -> ProbeModel:
    path = Path(source)
    if path.exists() and not (path / "config.json").is_file():
        raise UserError(f"--model {path}: no config.json there; pass the output_dir of a training run or a transformers model folder")
    if not path.exists() and source.count("/") != 1:
        raise UserError(f"--model {source}: no such folder, nor a hub id (owner/name)")
    try:
        model = _auto_model().from_pretrained(source, trust_remote_code=trust_remote_code, use_safetensors=True)
    except (OSError, ValueError) as err:
        raise UserError(f"--model {source}: could not load it with AutoModel (safetensors only): {str(err)[:300]}") from None
    model.eval().to("cuda" if torch.cuda.is_available() else "cpu")
    name = name or path.name or source
    if hasattr(model, "get_representation"):
        return ProbeModel(name, source, model, "image", kind="image_family")
    if is_dual_encoder(model):
        if dataset_modality == "text":
            return ProbeModel(name, source, TextTower(model), "text", _load_processor(source, "text", trust_remote_code),
                              kind="text_tower")
        if dataset_modality not in (None, "image"):
            raise UserError(f"--model {source} is an image-text dual encoder ({type(model).__name__}); the probe reads its "
                            f"image tower on images and its text tower on text, not {dataset_modality}")
        return ProbeModel(name, source, ImageTower(model, _optional_image_processor(source, trust_remote_code)), "image",
                          kind="image_tower")
    if model.config.model_type == "word2vec":
        return ProbeModel(name, source, model, "text", kind="word2vec")
    if model.config.model_type == "cpc":  # its context vectors c_t, as the cpc recipe probes them
        return ProbeModel(name, source, model, "audio", kind="cpc")
    modality = MODALITY_OF_INPUT.get(getattr(model, "main_input_name", ""))
    if modality is None:
        raise UserError(f"--model {source}: a {type(model).__name__} takes `{model.main_input_name}`, which the probe "
                        f"does not read; it reads text (input_ids), images (pixel_values) and audio (input_values)")
    return ProbeModel(name, source, readable_part(model), modality, _load_processor(source, modality, trust_remote_code))


def _optional_image_processor(source: str, trust_remote_code: bool):
    """The image processor saved beside a model, or None when there is none."""
    from transformers import AutoImageProcessor

    try:
        return AutoImageProcessor.from_pretrained(source, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, TypeError):
        return None


def _load_processor(source: str, modality: str, trust_remote_code: bool):
    from transformers import AutoFeatureExtractor, AutoImageProcessor, AutoTokenizer

    from hf_replearn.data.tokenizer_training import check_vocabulary

    loader = {"text": AutoTokenizer, "image": AutoImageProcessor, "audio": AutoFeatureExtractor}[modality]
    try:
        processor = loader.from_pretrained(source, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, TypeError) as err:
        raise UserError(f"--model {source}: no {loader.__name__.removeprefix('Auto')} beside the model ({str(err)[:200]}); "
                        "save it into the same folder (tokenizer.save_pretrained / processor.save_pretrained)") from None
    if modality == "text":
        check_vocabulary(processor, source, "--model")
        if processor.pad_token is None:  # GPT-2 has none; its padding is masked out anyway
            processor.pad_token = processor.eos_token
    return processor


def _call(model, inputs: dict, bf16: bool, device: torch.device):
    accepted = inspect.signature(model.forward).parameters
    inputs = {k: v.to(device) for k, v in inputs.items() if k in accepted}
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        return model(**inputs, output_hidden_states=True, return_dict=True)


def check_hidden_states(pm: ProbeModel, sample, pooling: str | None = None) -> None:
    """One example through the model: a UserError, before the real work, if it returns no hidden states, or feature
    maps (a CNN's) where ``pooling`` asks for one token; else their count goes to ``pm.hidden_count``."""
    if pm.kind != "transformers" or pm.modality == "audio":  # audio: the speech probes read one hidden state per clip
        return
    with torch.inference_mode():
        out = _call(pm.model, _encode(pm, sample, Readout(precision="fp32"))[0], False, pm.device)
    if not getattr(out, "hidden_states", None):
        raise UserError(f"--model {pm.source}: a {type(pm.model).__name__} returns no hidden_states with "
                        "output_hidden_states=True, so there is nothing to probe; pass its base model (AutoModel)")
    if pooling in ("cls", "last") and any(h.dim() == 4 for h in out.hidden_states):
        raise UserError(f"--pooling {pooling}: a {type(pm.model).__name__}'s hidden states are feature maps, with no "
                        "token to pick; they are averaged over space (leave --pooling out, or give mean)")
    pm.hidden_count = len(out.hidden_states)


def token_limit(pm: ProbeModel, readout: Readout) -> int:
    """``readout.max_length``, capped by the model's positions and the tokenizer's own limit."""
    limit = readout.max_length
    config = getattr(pm.model.config, "text_config", None) or pm.model.config  # a dual encoder's text tower
    for attr in ("max_position_embeddings", "n_positions"):
        if isinstance(getattr(config, attr, None), int):
            # RoBERTa-style position ids start after the padding index: two positions fewer
            limit = min(limit, getattr(config, attr) - (2 if "roberta" in config.model_type else 0))
    tokenizer_limit = getattr(pm.processor, "model_max_length", None)
    return min(limit, tokenizer_limit) if isinstance(tokenizer_limit, int) and tokenizer_limit < 1_000_000 else limit


def _encode(pm: ProbeModel, batch, readout: Readout) -> tuple[dict, torch.Tensor | None]:
    """A batch of raw inputs -> (model inputs, (B, T) attention mask or None for images)."""
    if pm.modality == "text":
        pairs = isinstance(batch[0], (tuple, list))
        args = ([a for a, _ in batch], [b for _, b in batch]) if pairs else (list(batch),)
        enc = pm.processor(*args, padding=True, truncation=True, max_length=token_limit(pm, readout), return_tensors="pt")
        return dict(enc), enc["attention_mask"]
    if pm.modality == "image":
        images = np.asarray(batch)  # (B, C, H, W) uint8
        if images.shape[1] == 1 and getattr(pm.model.config, "num_channels", 3) == 3:
            images = images.repeat(3, axis=1)  # grey -> RGB for models trained on colour
        enc = pm.processor(images=list(images.transpose(0, 2, 3, 1)), return_tensors="pt")
        return {"pixel_values": enc["pixel_values"]}, None
    raise UserError(f"--model {pm.source}: audio models are probed on speech data, not here")


def compute_hidden_states(pm: ProbeModel, inputs, readout: Readout) -> np.ndarray | list[np.ndarray]:
    """Raw inputs (texts, (a, b) pairs, or (N, C, H, W) uint8 images) -> (layers, N, D) float32 pooled features;
    a list of (N, D_l) arrays where the layers differ in width (the stages of a ResNet, ConvNeXT or Swin)."""
    if pm.toolkit_image:
        from hf_replearn.evaluation.probe import extract_features

        return extract_features(pm.model, np.asarray(inputs), readout.batch_size)[None]
    if pm.kind == "word2vec":
        return word2vec_features(pm.model, inputs)[None]
    pooling = readout.pooling or default_pooling(pm.model.config)
    device, bf16 = pm.device, readout.use_bf16(pm.device)
    # texts of similar length share a batch: less padding (a 3x saving on sentence data)
    lengths = [len(x) if isinstance(x, str) else sum(map(len, x)) for x in inputs] if pm.modality == "text" else [0] * len(inputs)
    order = np.argsort(lengths, kind="stable")
    out = None
    with torch.inference_mode(), fast_inference(pm.model, enabled=not bf16):
        for start in range(0, len(order), readout.batch_size):
            idx = order[start : start + readout.batch_size]
            enc, mask = _encode(pm, [inputs[i] for i in idx], readout)
            if pm.kind == "text_tower":
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    embeddings = pm.model.text_features({k: v.to(device) for k, v in enc.items()})
                pooled = embeddings.float()[None].cpu().numpy()  # (1, B, D): one "layer", the joint space
            else:
                hidden = _call(pm.model, enc, bf16, device).hidden_states  # layers+1 of (B, T, D) or (B, C, H, W)
                # images: every token counts; a Swin's stages hold fewer tokens each
                pooled = [pool(h, torch.ones(h.shape[:2]) if mask is None else mask, pooling).cpu().numpy() for h in hidden]
            if out is None:
                widths = {p.shape[-1] for p in pooled}
                out = (np.empty((len(pooled), len(inputs), widths.pop()), dtype=np.float32) if len(widths) == 1
                       else [np.empty((len(inputs), p.shape[-1]), dtype=np.float32) for p in pooled])  # fmt: skip
            for layer, p in zip(out, pooled):
                layer[idx] = p
    return out


def word2vec_features(model, inputs) -> np.ndarray:
    """The mean input vector of a text's in-vocabulary words (zeros if none); pairs side by side: (N, D or 2 D)."""
    from hf_replearn.data.word2vec import split_words

    index = {w: i for i, w in enumerate(model.config.words)}
    vectors = model.word_vectors().float().cpu().numpy()  # (V, D)

    def embed(text: str) -> np.ndarray:
        ids = [index[w] for w in split_words(text) if w in index]
        return vectors[ids].mean(0) if ids else np.zeros(vectors.shape[1], dtype=np.float32)

    return np.stack([embed(x) if isinstance(x, str) else np.concatenate([embed(t) for t in x]) for x in inputs])


def inputs_digest(inputs) -> str:
    """sha256 of the inputs: an array's shape, dtype and bytes; texts, pairs, or clips (arrays) one by one."""
    h = hashlib.sha256()

    def update(x) -> None:
        if isinstance(x, np.ndarray):
            h.update(repr((x.shape, str(x.dtype))).encode())
            h.update(np.ascontiguousarray(x).tobytes())
        else:
            h.update(json.dumps(x).encode() + b"\0")

    if isinstance(inputs, np.ndarray):
        update(inputs)
    else:
        for x in inputs:
            update(x)
    return h.hexdigest()


def _cache_entry(pm: ProbeModel, inputs, dataset_id: str, readout_key: dict, suffix: str) -> Path:
    """The file of one cache entry: a hash of the model's identity, the inputs and how they are read."""
    key = {"version": CACHE_VERSION, "model": pm.identity(), "dataset": dataset_id, "n": len(inputs),
           "inputs": inputs_digest(inputs), **readout_key}  # fmt: skip
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:40]
    return cache_root() / f"{digest}{suffix}"


def _write_atomically(path: Path, save) -> None:
    """``save(tmp)`` then a rename: a second process never reads a half-written entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp{path.suffix}")
    save(tmp)
    os.replace(tmp, path)


def hidden_states(pm: ProbeModel, inputs, readout: Readout, dataset_id: str = "") -> np.ndarray | list[np.ndarray]:
    """``compute_hidden_states`` through the disk cache: (layers, N, D), or a list of (N, D_l) per layer
    (kept as one ``.npz`` entry) where the widths differ."""
    if not readout.cache:
        return compute_hidden_states(pm, inputs, readout)
    pooling = readout.pooling or default_pooling(pm.model.config) if pm.kind == "transformers" else pm.kind
    path = _cache_entry(pm, inputs, dataset_id, {"pooling": pooling, "max_length": readout.max_length,
                                                 "bf16": readout.use_bf16(pm.device)}, ".npy")  # fmt: skip
    ragged = path.with_suffix(".npz")
    if path.is_file():
        return np.load(path)
    if ragged.is_file():
        with np.load(ragged) as entry:
            return [entry[f"layer_{i}"] for i in range(len(entry.files))]
    features = compute_hidden_states(pm, inputs, readout)
    if isinstance(features, np.ndarray):
        _write_atomically(path, lambda tmp: np.save(tmp, features))
    else:
        _write_atomically(ragged, lambda tmp: np.savez(tmp, **{f"layer_{i}": f for i, f in enumerate(features)}))
    return features


def clip_features(pm: ProbeModel, extract, clips: list, readout: Readout, dataset_id: str, frames: dict) -> list[np.ndarray]:
    """``extract`` ((L,) waveform -> (T, D) frames) of every clip, through the disk cache: [(T_i, D)].

    One entry per (weights, clips, ``frames``: which output is read), so a second probe of the same speech set
    does no forward pass. Kept as one (sum T_i, D) array and the lengths T_i."""
    if not readout.cache:
        return [extract(w) for w in clips]
    path = _cache_entry(pm, clips, dataset_id, {"frames": frames}, ".npz")
    if path.is_file():
        with np.load(path) as entry:
            return np.split(entry["frames"], np.cumsum(entry["lengths"])[:-1])
    features = [extract(w) for w in clips]
    _write_atomically(path, lambda tmp: np.savez(tmp, frames=np.concatenate(features), lengths=[len(f) for f in features]))
    return features


def layer_names(pm: ProbeModel, layer: str | int | None) -> dict[str, int]:
    """{feature-set name: layer index} for ``--layer`` (None: the last; ``all``: every one, 0 = embeddings)."""
    n = pm.num_layers
    if layer == "all":
        return {f"{pm.name}@{i}": i for i in range(n)}
    index = n - 1 if layer is None else int(layer)
    if not -n <= index < n:
        raise UserError(f"--layer {layer}: {pm.source} has {n} hidden states (0 = embeddings .. {n - 1}, or all)")
    return {pm.name: index % n}
