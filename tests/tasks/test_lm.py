"""mlm / clm pipelines: masking statistics through the recipe's data, perplexity, bf16, bad input."""

import math

import pytest
import torch

from hf_replearn.tasks import build_recipe
from hf_replearn.data import text
from hf_replearn.errors import UserError
from hf_replearn.tasks.lm import make_collator, prepare

pytestmark = pytest.mark.skipif(not text.FORTUNES_DIR.is_dir(), reason="apt-get install fortunes")

TINY = {"hidden_size": 32, "num_layers": 2, "num_heads": 2}

def _recipe(task="mlm", tmp_path="/tmp/unused", **sections):
    raw = {"task": task, "seed": 0, "dataset_limit": 300, "data": {"corpus": "fortunes", "block_size": 64},
           "tokenizer": {"vocab_size": 400}, "model": dict(TINY), "training": {"output_dir": str(tmp_path)}}
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return build_recipe(raw)


@pytest.fixture(scope="module")
def mlm_pipeline():
    recipe = _recipe()
    tokenizer, model, blocks = prepare(recipe, causal=False)
    return recipe, tokenizer, model, blocks


def test_masking_statistics_through_the_pipeline(mlm_pipeline):
    recipe, tokenizer, _, blocks = mlm_pipeline
    collate = make_collator(recipe, tokenizer, causal=False)
    examples = [blocks["train"][i] for i in range(len(blocks["train"]))]
    original = torch.tensor(sum((e["input_ids"] for e in examples if len(e["input_ids"]) == 64), []))
    batch = collate([e for e in examples if len(e["input_ids"]) == 64])
    inputs, labels = batch["input_ids"].reshape(-1), batch["labels"].reshape(-1)
    special = torch.isin(original, torch.tensor(tokenizer.all_special_ids))
    chosen = labels != -100
    n = int(chosen.sum())
    assert n > 1000  # enough for the tolerances below (a binomial share's sd is below 0.012 here)
    assert not (chosen & special).any(), "a special token was chosen for prediction"
    assert (labels[chosen] == original[chosen]).all()
    assert abs(n / int((~special).sum()) - 0.15) < 0.01
    masked = (inputs == tokenizer.mask_token_id) & chosen
    kept = (inputs == original) & chosen
    replaced = chosen & ~masked & ~kept
    assert abs(masked.sum().item() / n - 0.8) < 0.03
    assert abs(kept.sum().item() / n - 0.1) < 0.025  # includes random draws of the same token (p = 1/400)
    assert abs(replaced.sum().item() / n - 0.1) < 0.025
    assert (inputs[~chosen] == original[~chosen]).all()


def test_masking_is_dynamic_and_seeded(mlm_pipeline):
    recipe, tokenizer, _, blocks = mlm_pipeline
    examples = [blocks["train"][i] for i in range(8)]
    a = make_collator(recipe, tokenizer, causal=False)
    b = make_collator(recipe, tokenizer, causal=False)
    first = a(examples)["labels"]
    assert torch.equal(first, a(examples)["labels"])  # within an epoch a batch's mask depends on the batch alone
    a.set_epoch(1)
    second = a(examples)["labels"]
    assert not torch.equal(first, second)  # a new mask each epoch the block is seen (RoBERTa's dynamic masking)
    assert not torch.equal(first[1:], b(examples[1:])["labels"])  # the same blocks in another batch: other masks
    assert torch.equal(first, b(examples)["labels"])  # same seed, same masks


def test_whole_word_masking_chooses_all_pieces_of_a_word():
    recipe = _recipe(masking={"whole_word_mask": True}, data={"block_size": 64})
    tokenizer, _, blocks = prepare(recipe, causal=False)
    collate = make_collator(recipe, tokenizer, causal=False)
    batch = collate([blocks["train"][i] for i in range(64)])
    ids = [blocks["train"][i]["input_ids"] for i in range(64)]
    chosen = (batch["labels"] != -100).numpy()
    pieces = 0
    for row, ids_row in zip(chosen, ids):
        tokens = tokenizer.convert_ids_to_tokens(ids_row)
        for j in range(1, len(tokens)):
            if tokens[j].startswith("##") and tokens[j - 1] not in tokenizer.all_special_tokens:
                pieces += 1
                assert row[j] == row[j - 1], f"word split by the mask at {tokens[j - 1]} {tokens[j]}"
    assert pieces > 100 and 0.05 < chosen.mean() < 0.3


def test_clm_eval_perplexity_is_exp_of_token_mean_loss(tmp_path):
    from transformers import Trainer

    from hf_replearn.evaluation.lm_metrics import LMMetrics
    from hf_replearn.tasks.lm import training_arguments

    recipe = _recipe("clm", tmp_path, dataset_limit=200, data={"keep_remainder": False})
    tokenizer, model, blocks = prepare(recipe, causal=True)
    model.loss_type = "ForCausalLM"
    metrics = LMMetrics(causal=True)
    trainer = Trainer(model=model, args=training_arguments(recipe, per_device_eval_batch_size=5),
                      data_collator=make_collator(recipe, tokenizer, causal=True), eval_dataset=blocks["validation"],
                      compute_metrics=metrics.compute_metrics,
                      preprocess_logits_for_metrics=metrics.preprocess_logits_for_metrics)
    result = trainer.evaluate()
    model.eval()
    ids = torch.tensor(blocks["validation"]["input_ids"])
    with torch.no_grad():
        logits = model(ids).logits
    nll = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
    assert result["eval_tokens"] == ids.shape[0] * 63
    assert math.isclose(result["eval_perplexity"], math.exp(nll.item()), rel_tol=1e-4)
    assert math.isclose(result["eval_loss"], nll.item(), rel_tol=1e-4)  # equal blocks: batch mean = token mean


def test_bf16_autocast_loss_close_to_fp32(mlm_pipeline):
    recipe, tokenizer, model, blocks = mlm_pipeline
    batch = make_collator(recipe, tokenizer, causal=False)([blocks["train"][i] for i in range(16)])
    model.eval()
    with torch.no_grad():
        fp32 = model(**batch).loss.item()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model(**batch).loss.item()
    assert abs(bf16 - fp32) / fp32 < 0.01


def test_tokenizer_without_mask_token(tmp_path):
    from hf_replearn.data.tokenizer_training import train_tokenizer

    train_tokenizer(["some text here"] * 5, kind="bpe-gpt2", vocab_size=300).save_pretrained(tmp_path)
    with pytest.raises(UserError, match="no mask token"):
        prepare(_recipe(tokenizer={"path": str(tmp_path)}), causal=False)


def test_block_size_above_model_positions():
    with pytest.raises(UserError, match="block_size=64 exceeds the model's 32 positions"):
        prepare(_recipe(model={"max_position_embeddings": 32}), causal=False)
    with pytest.raises(UserError, match="block_size=64 exceeds the model's 32 positions"):
        prepare(_recipe(model={"architecture": "roberta", "max_position_embeddings": 34}), causal=False)


@pytest.mark.parametrize("task, model, limit", [
    ("clm", {"architecture": "gpt2"}, 64),
    ("clm", {"architecture": "gpt2", "max_position_embeddings": 96}, 96),
    ("mlm", {"architecture": "roberta", "max_position_embeddings": 98}, 96),
])  # fmt: skip
def test_the_trained_tokenizer_allows_what_the_model_has_room_for(task, model, limit):
    """model_max_length is the model's positions (a few-shot prompt or a probed text may use them all), not the
    64-token training block; transformers warns of "indexing errors" past it."""
    tokenizer, net, _ = prepare(_recipe(task=task, model=model), causal=task == "clm")
    positions = getattr(net.config, "n_positions", None) or net.config.max_position_embeddings - 2
    assert tokenizer.model_max_length == limit
    assert positions == limit or "max_position_embeddings" not in model  # every position usable, none beyond


def test_streaming_with_token_budget(tmp_path):
    from hf_replearn.tasks import run_recipe

    recipe = _recipe("clm", tmp_path, dataset_limit=200,
                     data={"streaming": True, "validation_examples": 20, "token_budget": 3 * 8 * 64, "block_size": 64},
                     training={"output_dir": str(tmp_path), "per_device_train_batch_size": 8})
    results = run_recipe(recipe)
    assert results["train/tokens"] == 3 * 8 * 64  # max_steps = budget / (block x batch) = 3
    assert math.isclose(results["eval_perplexity"], math.exp(results["eval_token_loss"]), rel_tol=1e-9)


def test_streaming_needs_steps_or_budget(tmp_path):
    from hf_replearn.tasks import run_recipe

    with pytest.raises(UserError, match="set max_steps=N or data.token_budget=N"):
        run_recipe(_recipe("clm", tmp_path, data={"streaming": True, "validation_examples": 20}))
