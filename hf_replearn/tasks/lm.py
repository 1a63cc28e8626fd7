"""Language-model pretraining tasks: ``mlm`` (BERT, RoBERTa) and ``clm`` (GPT-2).

setup (corpus -> tokenizer -> packed blocks -> model from a config) -> Trainer -> evaluation -> save.

- ``mlm``: any ``AutoModelForMaskedLM``; ``DataCollatorForLanguageModeling`` chooses 15% of the
  non-special tokens per batch (so masking is dynamic, as in RoBERTa: each epoch sees new masks) and
  replaces 80% of them with the mask token, 10% with a random token, keeps 10% (Devlin et al. 2019,
  sec. 3.1); ``masking.whole_word_mask`` chooses whole words instead (the collator's option). No
  next-sentence prediction: blocks are packed texts (RoBERTa's FULL-SENTENCES, Liu et al. 2019).
- ``clm``: any ``AutoModelForCausalLM``; labels are the inputs (the model shifts them); samples generated
  after training go to the model card.

Both evaluate token-weighted loss, perplexity and token accuracy with logits reduced per batch (see
:mod:`hf_replearn.evaluation.lm_metrics`).

``model.path`` continues pretraining an existing model (domain-adaptive pretraining, Gururangan et al.
2020); a ``lora:`` section then trains LoRA on it instead of every weight (PEFT's default layers for the
model type, e.g. BERT's query / value, GPT-2's c_attn; the LM head stays frozen) and saves the adapter
with ``merged/`` beside it, as the fine-tuning tasks do.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from hf_replearn.config import Recipe
from hf_replearn.errors import UserError
from hf_replearn.training.lora import LoraSection


@dataclasses.dataclass
class TextDataConfig:
    corpus: str | list[str] = "fortunes"
    """Embedded corpus (fortunes, python-docs, web-bible, kjv-bible, gcide), local .txt/.json/.csv file(s),
    or ``hub:<dataset id>``."""
    text_column: str = "text"
    """Column holding the text in JSON/CSV files or hub datasets."""
    text_unit: Literal["line", "paragraph", "document"] = "line"
    """What one example of a local .txt file is."""
    validation_fraction: float = 0.05
    """Share of examples held out (seeded by ``seed``) for evaluation."""
    block_size: int = 128
    """Tokens per packed block (the model's sequence length)."""
    keep_remainder: bool = True
    """Keep the short last block of each split (every token is used once); whole-word masking drops it."""
    streaming: bool = False
    """Stream the corpus instead of loading it (for corpora that do not fit in memory); needs max_steps or
    token_budget. The first validation_examples texts are held out."""
    validation_examples: int = 1000
    """Streaming only: texts held out for evaluation."""
    token_budget: int | None = None
    """Train on this many tokens: max_steps = budget / (block_size x batch x accumulation x processes)."""


@dataclasses.dataclass
class TokenizerConfig:
    path: str | None = None
    """Folder of an existing tokenizer (save_pretrained output); empty: train one on the train split."""
    kind: Literal["wordpiece", "bpe-roberta", "bpe-gpt2"] | None = None
    """Tokenizer to train; empty: the model architecture's own (bert: wordpiece, roberta: bpe-roberta,
    gpt2: bpe-gpt2)."""
    vocab_size: int = 8000
    min_frequency: int = 2
    lowercase: bool = True
    """WordPiece only: lower-case and strip accents (BERT-uncased)."""
    train_examples: int | None = 200_000
    """Train the tokenizer on at most this many training texts."""


@dataclasses.dataclass
class LMModelConfig:
    architecture: Literal["bert", "roberta", "gpt2"] = "bert"
    """Model family built from a fresh config (ignored when ``path`` is set)."""
    path: str | None = None
    """Continue from a checkpoint folder or hub id instead of a fresh model (its tokenizer too); needed by ``lora``."""
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int | None = None
    """Feed-forward width; empty: 4 x hidden_size."""
    dropout: float = 0.1
    max_position_embeddings: int | None = None
    """Empty: just enough for data.block_size."""


@dataclasses.dataclass
class CausalLMModelConfig(LMModelConfig):
    architecture: Literal["bert", "roberta", "gpt2"] = "gpt2"
    """Model family built from a fresh config; the clm task takes gpt2 (or any causal LM through path)."""


@dataclasses.dataclass
class MaskingConfig:
    mlm_probability: float = 0.15
    """Share of (non-special) tokens chosen for prediction."""
    mask_replace_prob: float = 0.8
    """Of the chosen: share replaced by the mask token."""
    random_replace_prob: float = 0.1
    """Of the chosen: share replaced by a random token (the rest stay unchanged)."""
    whole_word_mask: bool = False
    """Choose whole words (all their pieces) instead of single tokens; the collator then uses [MASK] only."""
    masked_positions_only: bool = True
    """In training, run the LM head on the masked positions only (the same loss, ~15% of the head's compute)."""


@dataclasses.dataclass
class GenerationConfig:
    prompts: list[str] = dataclasses.field(default_factory=lambda: ["The", "In the beginning", "A man"])
    max_new_tokens: int = 40
    do_sample: bool = True
    top_k: int = 50
    temperature: float = 1.0


@dataclasses.dataclass
class LMRecipe(Recipe):
    """The sections the mlm and clm recipes share."""

    data: TextDataConfig = dataclasses.field(default_factory=TextDataConfig)
    tokenizer: TokenizerConfig = dataclasses.field(default_factory=TokenizerConfig)
    lora: LoraSection = dataclasses.field(default_factory=lambda: LoraSection(enabled=False))
    """LoRA through PEFT on the model of ``model.path``; a recipe with a ``lora:`` section uses it."""


@dataclasses.dataclass
class MLMRecipe(LMRecipe):
    model: LMModelConfig = dataclasses.field(default_factory=LMModelConfig)
    masking: MaskingConfig = dataclasses.field(default_factory=MaskingConfig)


@dataclasses.dataclass
class CLMRecipe(LMRecipe):
    model: CausalLMModelConfig = dataclasses.field(default_factory=CausalLMModelConfig)
    generation: GenerationConfig = dataclasses.field(default_factory=GenerationConfig)


# --------------------------------------------------------------------------------------------- setup

_DEFAULT_TOKENIZER = {"bert": "wordpiece", "roberta": "bpe-roberta", "gpt2": "bpe-gpt2"}


def build_tokenizer(recipe, train_rows):
    """The recipe's tokenizer: loaded from a path, or trained on the first texts of ``train_rows`` (a resumed
    run takes the one its checkpoint holds: ``training.args.resumed_tokenizer``)."""
    import itertools

    from hf_replearn.data.tokenizer_training import load_tokenizer, train_tokenizer
    from hf_replearn.training.args import resumed_tokenizer

    cfg = recipe.tokenizer
    if cfg.path:
        return load_tokenizer(cfg.path)
    if recipe.model.path:
        return load_tokenizer(start_folder(recipe))
    resumed = resumed_tokenizer(recipe)
    if resumed is not None:
        return resumed
    texts = itertools.islice((row["text"] for row in train_rows), cfg.train_examples)
    kind = cfg.kind or _DEFAULT_TOKENIZER[recipe.model.architecture]
    tokenizer = train_tokenizer(
        texts, kind=kind, vocab_size=cfg.vocab_size, min_frequency=cfg.min_frequency,
        lowercase=cfg.lowercase, model_max_length=recipe.data.block_size,
    )
    positions = recipe.model.max_position_embeddings
    if positions:  # the model's limit, not the training block's: a few-shot prompt or a probed text may use them all
        tokenizer.model_max_length = positions - _reserved_positions(recipe.model.architecture, tokenizer.pad_token_id)
    return tokenizer


def _reserved_positions(model_type: str, pad_token_id: int | None) -> int:
    # RoBERTa numbers positions from pad_token_id + 1 (fairseq's convention), so it uses that many fewer.
    return (pad_token_id or 0) + 1 if model_type in ("roberta", "xlm-roberta", "camembert") else 0


def _position_offset(config) -> int:
    return _reserved_positions(config.model_type, config.pad_token_id)


def build_config(recipe, tokenizer, causal: bool):
    from transformers import BertConfig, GPT2Config, RobertaConfig

    m, block = recipe.model, recipe.data.block_size
    ffn = m.intermediate_size or 4 * m.hidden_size
    if m.hidden_size % m.num_heads:
        raise UserError(f"model.hidden_size={m.hidden_size} is not divisible by model.num_heads={m.num_heads}")
    first = lambda *values: next((v for v in values if v is not None), None)  # noqa: E731 (id 0 is valid)
    ids = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
               bos_token_id=first(tokenizer.bos_token_id, tokenizer.cls_token_id),
               eos_token_id=first(tokenizer.eos_token_id, tokenizer.sep_token_id))
    if m.architecture == "gpt2":
        return GPT2Config(n_embd=m.hidden_size, n_layer=m.num_layers, n_head=m.num_heads, n_inner=ffn,
                          n_positions=m.max_position_embeddings or block, resid_pdrop=m.dropout,
                          embd_pdrop=m.dropout, attn_pdrop=m.dropout, **ids)
    if causal:
        raise UserError(f"model.architecture={m.architecture} is an encoder; the clm task takes gpt2 (or model.path)")
    cls = {"bert": BertConfig, "roberta": RobertaConfig}[m.architecture]
    config = cls(hidden_size=m.hidden_size, num_hidden_layers=m.num_layers, num_attention_heads=m.num_heads,
                 intermediate_size=ffn, hidden_dropout_prob=m.dropout, attention_probs_dropout_prob=m.dropout,
                 max_position_embeddings=1, type_vocab_size=1 if m.architecture == "roberta" else 2, **ids)
    config.max_position_embeddings = m.max_position_embeddings or block + _position_offset(config)
    return config


def build_model(recipe, tokenizer, causal: bool):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM

    auto = AutoModelForCausalLM if causal else AutoModelForMaskedLM
    start = start_folder(recipe) if recipe.model.path else None  # a hub id resolved (and fetched) once
    if start:
        config = AutoConfig.from_pretrained(start, local_files_only=True)
    else:
        config = build_config(recipe, tokenizer, causal)
    positions = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    usable = positions - _position_offset(config) if positions else None
    if usable is not None and recipe.data.block_size > usable:
        raise UserError(
            f"data.block_size={recipe.data.block_size} exceeds the model's {usable} positions "
            f"({recipe.model.path or 'model.max_position_embeddings'}); set data.block_size<={usable}"
            + ("" if recipe.model.path else " or raise model.max_position_embeddings")
        )
    if start:
        return auto.from_pretrained(start, local_files_only=True, use_safetensors=True)
    return auto.from_config(config)


def start_folder(recipe) -> str:
    """The local folder of ``model.path``: the folder itself, or the hub checkpoint it names fetched into the hub
    cache (config, safetensors weights and tokenizer files)."""
    from hf_replearn.models.pretrained import CHECKPOINT_FILES, run_folder

    return str(run_folder(recipe.model.path, "model.path", CHECKPOINT_FILES))


def training_arguments(recipe, **defaults):
    """``TrainingArguments`` from the recipe (see :func:`hf_replearn.training.args.make_training_args`).

    ``training.bf16=true`` without a GPU means bf16 autocast on the CPU, which TrainingArguments only
    accepts together with ``use_cpu``.
    """
    import torch

    from hf_replearn.training.args import make_training_args

    if recipe.training.get("bf16") and not torch.cuda.is_available():
        defaults.setdefault("use_cpu", True)
    return make_training_args(recipe, **defaults)


# ---------------------------------------------------------------------------------------------- run


def prepare(recipe, causal: bool):
    """Corpus, tokenizer, packed blocks and model for a recipe (shared by the tasks, tests and benchmarks)."""
    from transformers import set_seed

    from hf_replearn.data.packing import build_lm_blocks, stream_lm_blocks
    from hf_replearn.data.text import describe, load_text_dataset, stream_text_dataset

    set_seed(recipe.seed)
    d = recipe.data
    if causal and recipe.model.architecture != "gpt2" and not recipe.model.path:
        raise UserError(f"model.architecture={recipe.model.architecture} is an encoder; the clm task takes gpt2")
    if d.streaming:
        stream, validation = stream_text_dataset(d.corpus, d.validation_examples, d.text_column, d.text_unit)
        if recipe.dataset_limit is not None:
            stream = stream.take(recipe.dataset_limit)
        texts = {"train": stream, "validation": validation}
    else:
        texts = load_text_dataset(d.corpus, d.validation_fraction, recipe.seed, recipe.dataset_limit,
                                  d.text_column, d.text_unit)
    tokenizer = build_tokenizer(recipe, texts["train"])
    if not causal and tokenizer.mask_token is None:
        raise UserError(
            f"tokenizer {recipe.tokenizer.path or recipe.model.path or 'kind=' + str(recipe.tokenizer.kind)} has no "
            "mask token, which masked-LM "
            "training needs; use a tokenizer with one (e.g. train one: leave tokenizer.path empty) or the clm task"
        )
    model = build_model(recipe, tokenizer, causal)
    wwm = getattr(recipe, "masking", None) is not None and recipe.masking.whole_word_mask
    if d.streaming:
        if wwm:
            raise UserError("masking.whole_word_mask needs character offsets, which streaming does not keep; "
                            "set data.streaming=false or masking.whole_word_mask=false")
        blocks = build_lm_blocks({"validation": texts["validation"]}, tokenizer, d.block_size, causal=causal,
                                 source=describe(d.corpus))
        blocks["train"] = stream_lm_blocks(texts["train"], tokenizer, d.block_size, causal).shuffle(
            seed=recipe.seed, buffer_size=10_000)
    else:
        blocks = build_lm_blocks(texts, tokenizer, d.block_size, whole_word_mask=wwm, causal=causal,
                                 keep_remainder=d.keep_remainder, source=describe(d.corpus))
    return tokenizer, model, blocks


def _max_steps(recipe, batch_size: int) -> dict:
    """``max_steps`` from data.token_budget when the recipe does not set it; streaming needs one of them."""
    from hf_replearn.data.packing import steps_for_token_budget

    if "max_steps" in recipe.training and recipe.training["max_steps"] not in (None, -1):
        return {}
    if recipe.data.token_budget:
        t = recipe.training
        batch = t.get("per_device_train_batch_size", batch_size)
        return {"max_steps": steps_for_token_budget(recipe.data.token_budget, recipe.data.block_size, batch,
                                                    t.get("gradient_accumulation_steps", 1))}
    if recipe.data.streaming:
        raise UserError(f"{recipe.source}: a streamed corpus has no length; set max_steps=N or data.token_budget=N")
    return {}


def make_collator(recipe, tokenizer, causal: bool):
    from transformers import DataCollatorForLanguageModeling

    from hf_replearn.data.masking import BatchSeededLanguageModelingCollator

    if causal:
        return DataCollatorForLanguageModeling(tokenizer, mlm=False, seed=recipe.seed)
    m = recipe.masking
    if not 0 < m.mlm_probability < 1 or m.mask_replace_prob + m.random_replace_prob > 1:
        raise UserError("masking: mlm_probability must be in (0, 1) and mask_replace_prob + random_replace_prob <= 1")
    return BatchSeededLanguageModelingCollator(  # masks that a resumed run draws again exactly
        tokenizer, mlm=True, mlm_probability=m.mlm_probability, whole_word_mask=m.whole_word_mask,
        mask_replace_prob=1.0 if m.whole_word_mask else m.mask_replace_prob,
        random_replace_prob=0.0 if m.whole_word_mask else m.random_replace_prob, seed=recipe.seed,
    )


def _run(recipe, causal: bool) -> dict[str, float]:
    from hf_replearn.evaluation.lm_metrics import LMMetrics
    from hf_replearn.training.callbacks import CollatorEpochCallback
    from hf_replearn.training.finetune import maybe_apply_lora, save_finetuned
    from hf_replearn.training.lifecycle import train_and_save
    from hf_replearn.training.masked_head import MaskedPositionsOnly
    from hf_replearn.training.trainer import ReplearnTrainer

    if recipe.lora.enabled and not recipe.model.path:
        raise UserError(
            f"{recipe.source}: lora adapts a pretrained model (continued, domain-adaptive pretraining), and without "
            "model.path this recipe builds a fresh one; set model.path=<checkpoint folder>, or drop the lora section"
        )
    tokenizer, model, blocks = prepare(recipe, causal)
    if causal and getattr(model, "loss_type", None) is None:
        # transformers 5.24's Trainer counts loss items over labels[..., 1:] only when model.loss_type names
        # the causal loss; a model built from a config has None, and its loss comes out x (T-1)/T.
        model.loss_type = "ForCausalLM"
    model = maybe_apply_lora(model, recipe.lora, "CAUSAL_LM" if causal else None)  # after: PEFT wraps the model
    metrics = LMMetrics(causal=causal)
    # special_tokens_mask / offset_mapping are collator inputs, not model inputs: keep them
    args = training_arguments(recipe, remove_unused_columns=False, per_device_train_batch_size=32,
                              per_device_eval_batch_size=32, learning_rate=5e-4, warmup_steps=0.06,
                              weight_decay=0.01, logging_steps=50, **_max_steps(recipe, 32))
    collator = make_collator(recipe, tokenizer, causal)
    trainer = ReplearnTrainer(
        model=model, args=args, data_collator=collator, callbacks=[CollatorEpochCallback(collator)],
        train_dataset=blocks["train"], eval_dataset=blocks["validation"], processing_class=tokenizer,
        compute_metrics=metrics.compute_metrics, preprocess_logits_for_metrics=metrics.preprocess_logits_for_metrics,
    )
    sparse_head = None if causal or not recipe.masking.masked_positions_only else MaskedPositionsOnly(model)
    try:
        model, results = train_and_save(recipe, trainer, model,
                                        save=lambda m, out: save_finetuned(m, tokenizer, out, recipe.lora))
    finally:
        if sparse_head is not None:
            sparse_head.remove()
    tokens = float(results["train/steps"] * args.train_batch_size * args.gradient_accumulation_steps
                   * args.world_size * recipe.data.block_size)
    results["train/tokens"] = tokens
    results["train/tokens_per_second"] = tokens / max(results["train/runtime_s"], 1e-9)
    results |= {k: float(v) for k, v in trainer.evaluate().items() if isinstance(v, (int, float))}
    samples = generate_samples(model, tokenizer, recipe.generation, recipe.seed) if causal else []
    write_lm_card(recipe, results, samples, causal)
    return results


def generate_samples(model, tokenizer, gen: GenerationConfig, seed: int) -> list[str]:
    import torch

    model.eval()
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    out = []
    for prompt in gen.prompts:
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(model.device)
        room = getattr(model.config, "n_positions", None) or model.config.max_position_embeddings
        if ids.shape[1] >= room:
            continue
        with torch.no_grad():
            seq = model.generate(ids, max_new_tokens=min(gen.max_new_tokens, room - ids.shape[1]), do_sample=gen.do_sample, top_k=gen.top_k,
                                 temperature=gen.temperature, pad_token_id=tokenizer.pad_token_id)
        out.append(tokenizer.decode(seq[0], skip_special_tokens=True))
    torch.random.set_rng_state(generator_state)
    return out


def run(recipe: LMRecipe) -> dict[str, float]:
    return _run(recipe, causal=isinstance(recipe, CLMRecipe))


def write_lm_card(recipe, results: dict, samples: list[str], causal: bool) -> None:
    """README.md beside the weights: the evaluation and, for a causal LM, generated samples."""
    from hf_replearn.hub.model_card import write_model_card

    what = "causal" if causal else "masked"
    m, lora = recipe.model, recipe.lora
    start = f"further pretrained from `{m.path}`" if m.path else "pretrained from scratch"
    family = "" if m.path else f"{m.architecture} "  # model.path: the checkpoint's family, not model.architecture
    sections = {
        "Model": f"A {family}{what} language model ({int(results['model/total_params']):,} parameters) {start} on "
                 f"`{recipe.data.corpus}` in blocks of {recipe.data.block_size} tokens, with its tokenizer saved beside it.",
        "Validation": ("On the held-out validation split: eval_token_loss is the mean negative log-likelihood over its "
                       "predicted tokens, eval_perplexity its exp, eval_accuracy the share of tokens predicted right; "
                       "eval_loss is Trainer's mean over batches.\n\n| metric | value |\n|---|---|\n" + "\n".join(
            f"| {k} | {results[k]:.4g} |" for k in ("eval_token_loss", "eval_perplexity", "eval_accuracy", "eval_tokens",
                                                    "eval_loss") if k in results)),
    }
    if lora.enabled:
        from hf_replearn.training.lora import card_section

        sections["LoRA"] = card_section(lora, results, merged_here=False)
    if causal and not samples:
        prompts = recipe.generation.prompts
        sections["Samples"] = ("None: generation.prompts is empty; set prompts to see samples in this card." if not prompts
                               else f"None: each of the {len(prompts)} prompts in generation.prompts fills the model's "
                                    "context, leaving no room for a new token; give shorter prompts.")
    if samples:
        g = recipe.generation
        sections["Samples"] = (f"Sampled with top_k={g.top_k}, temperature={g.temperature}, seed={recipe.seed}:\n\n"
                               + "\n\n".join(_sample_line(s, g.prompts) for s in samples))
    corpus = recipe.data.corpus if isinstance(recipe.data.corpus, str) else "local files"
    write_model_card(recipe.output_dir, recipe, results, sections, dataset_name=corpus)


def _sample_line(sample: str, prompts: list[str]) -> str:
    """A sample as a quote; one that is its prompt alone says why (the first token drawn was end-of-text)."""
    text = sample.strip().replace("\n", " ")
    if text in (p.strip() for p in prompts):
        return f"> {text} *(nothing generated: the model ended the text at once, drawing end-of-text first)*"
    return "> " + text
