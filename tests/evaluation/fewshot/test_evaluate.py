import pytest

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.evaluate import evaluate_grid, evaluate_task
from hf_replearn.evaluation.fewshot.task import load_task


def test_metrics_do_not_depend_on_batch_size(model, tokenizer, tmp_path, write_task):
    task = load_task(write_task(tmp_path))
    ref = evaluate_task(model, tokenizer, task, k=3, seed=0, batch_size=1)
    assert set(ref) == {"acc", "acc_norm", "acc_mutual_info"}
    assert evaluate_task(model, tokenizer, task, k=3, seed=0, batch_size=4) == ref


def test_grid_has_mean_and_std_over_seeds(model, tokenizer, tmp_path, write_task):
    task = load_task(write_task(tmp_path, metric_list=[{"metric": "acc"}]))
    res = evaluate_grid(model, tokenizer, task, shots=[0, 2], seeds=3, batch_size=4)
    assert list(res) == ["k=0", "k=2"]
    assert len(res["k=0"]["acc"]["per_seed"]) == 1 and res["k=0"]["acc"]["std"] == 0.0
    per_seed = res["k=2"]["acc"]["per_seed"]
    assert len(per_seed) == 3 and res["k=2"]["acc"]["mean"] == pytest.approx(sum(per_seed) / 3)
    with pytest.raises(UserError, match="k=13 demonstrations asked but the few-shot split `train` holds only 12"):
        evaluate_grid(model, tokenizer, task, shots=[0, 13], seeds=1)


def test_generate_until_task(model, tokenizer, tmp_path, write_task):
    task = load_task(write_task(
        tmp_path, output_type="generate_until", doc_to_choice=None,
        metric_list=[{"metric": "exact_match"}, {"metric": "f1"}],
        generation_kwargs={"until": ["\n"], "max_gen_toks": 4},
    ))
    res = evaluate_task(model, tokenizer, task, k=2, seed=0)
    assert set(res) == {"exact_match", "f1"} and 0.0 <= res["exact_match"] <= res["f1"] <= 1.0
