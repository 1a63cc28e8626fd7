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
