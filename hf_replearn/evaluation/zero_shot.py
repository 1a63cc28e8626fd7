"""Evaluating an image-text dual encoder: zero-shot classification from prompts and cross-modal retrieval.

Works with any model that has ``get_image_features(pixel_values=...)`` and ``get_text_features(input_ids=...,
attention_mask=...)`` (transformers' ``CLIPModel``, ``VisionTextDualEncoderModel``), returning either the
embeddings or an output whose ``pooler_output`` holds them (transformers 5).

- Zero-shot classification (Radford et al. 2021, Sec. 3.1.2): each class is the normalised mean of the
  normalised embeddings of its prompts (one prompt, or an ensemble); an image takes the class of highest
  cosine similarity. Reported beside the majority-class rate and chance (1 / classes).
- Retrieval: image i's text is text i. image->text recall@k is the fraction of images whose text is
  among the k texts most similar to them, and text->image the other way; chance is k / N.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hf_replearn.errors import UserError
from hf_replearn.data.emoji_text import class_words
from hf_replearn.evaluation.features import tower_embeddings
from hf_replearn.evaluation.probe import ProbeConfig


@dataclass
class ZeroShotConfig:
    """How a dual encoder is evaluated on held-out pairs (``evaluation`` section of the clip recipe)."""

    prompt_template: str = "an emoji of {}"
    """Prompt of a class; ``{}`` is the class name (lower case, hyphens as spaces)."""
    recall_ks: list[int] = field(default_factory=lambda: [1, 5, 10])
    figure_examples: int = 8
    """Held-out images drawn with their top-3 retrieved texts in retrieval.png (0: no picture)."""
    batch_size: int = 256
    probe: ProbeConfig = field(default_factory=lambda: ProbeConfig(
        labels_per_class=[1, 5, 10], baselines=["raw", "random_init"], tsne=False, label_fractions=[]))  # fmt: skip
    """The few-label probe of the image tower (``evaluation.probe``), on the group labels."""

    def validate(self) -> None:
        if self.prompt_template.count("{}") != 1:
            raise UserError(f"evaluation.prompt_template must hold `{{}}` once (the class name), got {self.prompt_template!r}")
        if not self.recall_ks or any(k < 1 for k in self.recall_ks):
            raise UserError(f"evaluation.recall_ks must be positive ranks, got {self.recall_ks}")
        if self.figure_examples < 0:
            raise UserError(f"evaluation.figure_examples must be >= 0, got {self.figure_examples}")
        self.probe.validate()

    def prompt(self, class_name: str) -> str:
        return self.prompt_template.format(class_words(class_name))


@torch.no_grad()
def image_embeddings(model, pixels: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """uint8 images (N, C, H, W) -> L2-normalised image embeddings (N, D) on the CPU."""
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(pixels), batch_size):
        x = torch.from_numpy(np.asarray(pixels[start : start + batch_size])).to(device).float().div_(255)
        out.append(tower_embeddings(model.get_image_features(pixel_values=x)).float().cpu())
    return nn.functional.normalize(torch.cat(out), dim=1)


@torch.no_grad()
def text_embeddings(model, tokenizer, texts: list[str], batch_size: int = 256) -> torch.Tensor:
    """Texts -> L2-normalised text embeddings (N, D) on the CPU (cut at the tokenizer's ``model_max_length``)."""
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(texts), batch_size):
        tokens = tokenizer(texts[start : start + batch_size], padding=True, truncation=True, return_tensors="pt").to(device)
        out.append(tower_embeddings(model.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])).float().cpu())
    return nn.functional.normalize(torch.cat(out), dim=1)


def class_embeddings(model, tokenizer, prompts: list[list[str]], batch_size: int = 256) -> torch.Tensor:
    """One embedding per class: the normalised mean of its prompts' embeddings (prompt ensembling)."""
    flat = [p for class_prompts in prompts for p in class_prompts]
    emb = text_embeddings(model, tokenizer, flat, batch_size)
    bounds = np.cumsum([0] + [len(p) for p in prompts])
    return nn.functional.normalize(torch.stack([emb[a:b].mean(0) for a, b in zip(bounds[:-1], bounds[1:])]), dim=1)


def zero_shot_accuracy(image_emb: torch.Tensor, class_emb: torch.Tensor, labels: np.ndarray) -> float:
    """Fraction of images whose most similar class embedding is their label's."""
    return float(((image_emb @ class_emb.T).argmax(1).numpy() == np.asarray(labels)).mean())


def recall_at_k(similarity: torch.Tensor, ks) -> dict[int, float]:
    """similarity (N, N), row i's match in column i -> {k: fraction of rows whose match ranks in the top k}."""
    # rank of the match = number of columns scoring strictly higher than it
    rank = (similarity > similarity.diag().unsqueeze(1)).sum(1)
    return {k: float((rank < k).float().mean()) for k in ks}


def majority_rate(labels: np.ndarray) -> float:
    return float(np.bincount(np.asarray(labels)).max() / len(labels))


def evaluate_dual_encoders(models: dict, tokenizer, pixels: np.ndarray, captions: list[str], tasks: dict, cfg: ZeroShotConfig):
    """Zero-shot accuracy and retrieval recall of each of ``models`` (name -> model) on the same pairs.

    ``tasks``: name -> (labels (N,), prompts per class); ``pixels[i]`` and ``captions[i]`` are a pair.
    Returns (results, similarity of the first model: images x captions). Keys:
    ``zero_shot/<task>/<model>``, ``zero_shot/<task>/majority`` and ``/chance``,
    ``retrieval/<image_to_text|text_to_image>/recall@<k>/<model>``, ``retrieval/chance/recall@<k>``.
    """
    results, first = {}, None
    for name, model in models.items():
        was_training = model.training
        model.eval()
        images = image_embeddings(model, pixels, cfg.batch_size)
        texts = text_embeddings(model, tokenizer, captions, cfg.batch_size)
        for task, (labels, prompts) in tasks.items():
            results[f"zero_shot/{task}/{name}"] = zero_shot_accuracy(images, class_embeddings(model, tokenizer, prompts), labels)
        similarity = images @ texts.T  # (N images, N texts)
        for direction, sim in (("image_to_text", similarity), ("text_to_image", similarity.T)):
            for k, value in recall_at_k(sim, cfg.recall_ks).items():
                results[f"retrieval/{direction}/recall@{k}/{name}"] = value
        model.train(was_training)
        first = similarity if first is None else first
    for task, (labels, prompts) in tasks.items():
        results[f"zero_shot/{task}/majority"] = majority_rate(labels)
        results[f"zero_shot/{task}/chance"] = 1 / len(prompts)
    for k in cfg.recall_ks:
        results[f"retrieval/chance/recall@{k}"] = min(1.0, k / len(captions))
    return results, first


def zero_shot_table(results: dict, models, shown: set | None = None) -> str:
    """Markdown: one row per zero-shot task and retrieval recall, columns the models, majority and chance. The keys
    of ``results`` it shows are added to ``shown`` when given (a model card then does not list them again)."""
    models = list(models)
    lines = ["| metric | " + " | ".join(models) + " | majority class | chance |", "|---|" + "---|" * (len(models) + 2)]
    for key in sorted(k for k in results if k.startswith(("zero_shot/", "retrieval/image", "retrieval/text"))):
        parts = key.split("/")
        if parts[-1] != models[0]:
            continue
        row = "/".join(parts[:-1])
        zero_shot = row.startswith("zero_shot/")
        majority = f"{row}/majority" if zero_shot else None
        chance = f"{row}/chance" if zero_shot else f"retrieval/chance/{parts[-2]}"
        keys = [f"{row}/{m}" for m in models] + [majority, chance]
        cells = [results.get(k) if k else None for k in keys]
        if shown is not None:
            shown.update(k for k, v in zip(keys, cells) if v is not None)
        lines.append(f"| {row} | " + " | ".join("-" if v is None else f"{v:.3f}" for v in cells) + " |")
    return "\n".join(lines)


def retrieval_figure(pixels: np.ndarray, captions: list[str], similarity: torch.Tensor, indices, path: str | Path, top: int = 3,
                     what: str = "emoji") -> Path:
    """A row per image in ``indices``: the image, then its ``top`` most similar distinct captions (the true one in
    green)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    indices = list(indices)
    fig, axes = plt.subplots(len(indices), 2, figsize=(9, 1.3 * len(indices)), gridspec_kw={"width_ratios": [1, 7]}, squeeze=False)
    for row, i in zip(axes, indices):
        row[0].imshow(np.asarray(pixels[i]).transpose(1, 2, 0))
        # The top distinct texts: a caption several images share is one text, shown once.
        ranked = list(dict.fromkeys(captions[j] for j in similarity[i].argsort(descending=True).tolist()))[:top]
        for place, caption in enumerate(ranked):
            text = textwrap.shorten(f"{place + 1}. {caption}", 90)
            row[1].text(0, 0.8 - 0.3 * place, text, color="green" if caption == captions[i] else "black", fontsize=8, va="center")
        for ax in row:
            ax.axis("off")
    fig.suptitle(f"Held-out {what} and their top-{top} texts among the held-out captions (true caption in green)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
