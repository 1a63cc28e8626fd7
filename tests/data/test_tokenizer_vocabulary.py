"""A model folder without tokenizer files: transformers 5 builds a tokenizer of the model's class holding only its
special tokens, which would map every text to the same ids. Every entry point that loads a tokenizer from a model
folder refuses it, naming the folder and the fix, before any output is written."""

import pytest
from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizerFast, GPT2Config, GPT2LMHeadModel

from hf_replearn.cli import main
from hf_replearn.data.tokenizer_training import check_vocabulary
from hf_replearn.errors import UserError

WORDS = ["good", "bad", "film", "plot", "the", "was"]


@pytest.fixture(scope="module")
def bert_without_tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("bert") / "model"
    BertModel(BertConfig(vocab_size=20, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(path)  # fmt: skip
    return path


def test_an_empty_tokenizer_is_refused_and_a_real_one_passes(bert_without_tokenizer, tmp_path):
    empty = AutoTokenizer.from_pretrained(bert_without_tokenizer)
    assert len(empty) == 5  # [PAD] [UNK] [CLS] [SEP] [MASK]: what transformers returns instead of an error
    with pytest.raises(UserError, match=r"--model: .*model holds no tokenizer \(transformers built an empty BertTokenizer"):
        check_vocabulary(empty, bert_without_tokenizer, "--model")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    check_vocabulary(BertTokenizerFast(vocab=str(vocab)), tmp_path, "--model")


def test_eval_probe_refuses_a_model_without_tokenizer(bert_without_tokenizer, tmp_path, capsys):
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"the film was {w},{i % 2}\n" for i, w in enumerate(["good", "bad"] * 10)))
    out = tmp_path / "probe"
    assert main(["eval", "probe", "--model", str(bert_without_tokenizer), "--dataset", str(data), "--output-dir", str(out)]) == 2
    assert "holds no tokenizer" in capsys.readouterr().err and not out.exists()


def test_fewshot_refuses_a_model_without_tokenizer(tmp_path, capsys):
    GPT2LMHeadModel(GPT2Config(vocab_size=20, n_embd=16, n_layer=1, n_head=2)).save_pretrained(tmp_path / "gpt2")
    out = tmp_path / "fewshot"
    task = "recipes/fewshot/incontext_binary.yaml"
    assert main(["fewshot", "--task", task, "--model", str(tmp_path / "gpt2"), "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--model: " in err and "holds no tokenizer (transformers built an empty GPT2Tokenizer" in err
    assert not out.exists()


@pytest.mark.parametrize("recipe, key", [("glue", "model.name_or_path"), ("clip_emoji_minilm", "model.text_backbone")])
def test_recipes_refuse_a_model_without_tokenizer(bert_without_tokenizer, tmp_path, capsys, recipe, key):
    out = tmp_path / "run"
    assert main(["train", f"recipes/{recipe}.yaml", f"{key}={bert_without_tokenizer}", f"output_dir={out}"]) == 2
    err = capsys.readouterr().err
    assert key in err and "holds no tokenizer" in err and "tokenizer.save_pretrained" in err
    assert not out.exists()
