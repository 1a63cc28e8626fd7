import math

import pytest

from hf_replearn.errors import UserError
from hf_replearn.evaluation import fast_inference as fast_inference_module
from hf_replearn.evaluation.fewshot.evaluate import evaluate_grid, evaluate_items, evaluate_task
from hf_replearn.evaluation.fewshot.task import load_docs, load_task
from tests.evaluation.packed_calls import count_packed_calls


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


def test_a_grid_decides_packing_once_from_every_runs_passes(model, tokenizer, tmp_path, write_task, monkeypatch):
    workloads = []
    monkeypatch.setattr(fast_inference_module, "_packed_rows", lambda layers, workload: workloads.append(workload))
    task = load_task(write_task(tmp_path, metric_list=[{"metric": "acc"}]))
    evaluate_grid(model, tokenizer, task, shots=[0, 2], seeds=3, batch_size=4)
    assert len(workloads) == 1  # not once per (k, seed)
    (workload,) = workloads
    # k = 0 once, k = 2 for each of the 3 seeds: (rows per pass, passes) each, longer prompts at k = 2
    k0, *k2 = workload
    assert len(k2) == 3
    batches = -(-len(load_docs(task)[0]) // 4)
    assert k0[1] == batches and all(calls == batches for _, calls in k2)
    assert all(rows > k0[0] for rows, _ in k2)


def test_generate_until_task(model, tokenizer, tmp_path, write_task):
    task = load_task(write_task(
        tmp_path, output_type="generate_until", doc_to_choice=None,
        metric_list=[{"metric": "exact_match"}, {"metric": "f1"}],
        generation_kwargs={"until": ["\n"], "max_gen_toks": 4},
    ))
    res = evaluate_task(model, tokenizer, task, k=2, seed=0)
    assert set(res) == {"exact_match", "f1"} and 0.0 <= res["exact_match"] <= res["f1"] <= 1.0


@pytest.mark.parametrize("output_type", ["multiple_choice", "generate_until"])
def test_scores_and_generations_through_packed_weights_equal_the_models_own(
    output_type, model, tokenizer, tmp_path, write_task, monkeypatch
):
    import contextlib

    import hf_replearn.evaluation.fewshot.evaluate as E
    from hf_replearn.evaluation.fewshot.evaluate import evaluate_items

    extra = {} if output_type == "multiple_choice" else {
        "output_type": "generate_until", "doc_to_choice": None, "metric_list": [{"metric": "exact_match"}],
        "generation_kwargs": {"until": ["\n"], "max_gen_toks": 6}}  # fmt: skip
    task = load_task(write_task(tmp_path, **extra))
    calls = count_packed_calls(monkeypatch)
    monkeypatch.setattr(fast_inference_module, "_packed_rows", lambda layers, workload: math.inf)
    _, packed = evaluate_items(model, tokenizer, task, k=3, seed=0, batch_size=4)
    assert len(calls) > 0  # the packed path ran
    monkeypatch.setattr(E, "fast_inference", lambda m, **kwargs: contextlib.nullcontext(m))
    _, own = evaluate_items(model, tokenizer, task, k=3, seed=0, batch_size=4)
    for p, o in zip(packed, own):
        if output_type == "multiple_choice":
            assert [r[0] for r in p["filtered_resps"]] == pytest.approx([r[0] for r in o["filtered_resps"]], abs=1e-5)
        else:
            assert p["filtered_resps"] == o["filtered_resps"]


def test_loglikelihood_task_as_lambada(model, tokenizer, tmp_path, write_task):
    """output_type loglikelihood (lm-eval's lambada_openai): the target's log-likelihood after the context, no
    delimiter added; perplexity = exp(-mean), acc = the target is the greedy continuation; checked against one
    plain forward pass per document."""
    import math

    import torch

    from hf_replearn.evaluation.fewshot.evaluate import evaluate_items

    task = load_task(write_task(
        tmp_path, output_type="loglikelihood", doc_to_choice=None, doc_to_text="{{input}} is", doc_to_target="{{' ' + label}}",
        metric_list=[{"metric": "perplexity", "aggregation": "perplexity", "higher_is_better": False},
                     {"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    ))  # fmt: skip
    results, samples = evaluate_items(model, tokenizer, task, k=0, seed=0, batch_size=4)
    lls, greedy = [], []
    for s in samples:
        context, target = s["arguments"][0]
        assert target == " " + s["doc"]["label"] and context == s["doc"]["input"] + " is"
        ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
        whole = tokenizer(context + target, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([whole])).logits[0].double(), -1)
        cont = whole[len(ctx):]
        lls.append(sum(logprobs[len(ctx) - 1 + i, t].item() for i, t in enumerate(cont)))
        greedy.append(all(logprobs[len(ctx) - 1 + i].argmax().item() == t for i, t in enumerate(cont)))
        ((ll, is_greedy),) = s["filtered_resps"]
        assert ll == pytest.approx(lls[-1], abs=1e-4) and is_greedy == greedy[-1]
    assert results["perplexity,none"] == pytest.approx(math.exp(-sum(lls) / len(lls)), rel=1e-4)
    assert results["acc,none"] == pytest.approx(sum(greedy) / len(greedy))
    assert results["perplexity_stderr,none"] == "N/A"  # lm-eval bootstraps it; not reproduced


def test_a_sampled_task_draws_every_seed_even_at_k_0(model, tokenizer, tmp_path, write_task):
    task = load_task(write_task(
        tmp_path, output_type="generate_until", doc_to_choice=None, metric_list=[{"metric": "exact_match"}],
        generation_kwargs={"until": ["\n"], "max_gen_toks": 4, "do_sample": True, "temperature": 2.0},
    ))
    res = evaluate_grid(model, tokenizer, task, shots=[0], seeds=3, batch_size=4)
    assert len(res["k=0"]["exact_match"]["per_seed"]) == 3  # greedy decoding would evaluate k = 0 once
    _, first = evaluate_items(model, tokenizer, task, k=0, seed=0)
    _, again = evaluate_items(model, tokenizer, task, k=0, seed=0, batch_size=1)
    _, other = evaluate_items(model, tokenizer, task, k=0, seed=1)
    assert [s["resps"] for s in first] == [s["resps"] for s in again] != [s["resps"] for s in other]


METRIC_UTILS = '''
def hit(references, predictions, weight=1.0):  # lm-eval's keyword form, with the entry's options
    return weight * float(references[0][:1] in predictions[0])


def lengths(references, predictions):  # a dict: one value per key
    return {"answer_len": len(predictions[0]), "gold_len": len(references[0])}


def pair(items):  # a function of one argument: called with [gold, answer]
    return items


def first_gold(items):  # an aggregation over (gold, answer) pairs
    return sum(len(gold) for gold, _ in items) / len(items)


def broken(references, predictions):
    return 1 / 0


def count(items):  # an aggregation that no mean equals: how many answers
    return float(len(items))
'''


def test_a_tasks_own_metric_functions_are_called_as_lm_eval_calls_them(model, tokenizer, tmp_path, write_task):
    import yaml

    from hf_replearn.evaluation.fewshot.evaluate import evaluate_items

    write_task(tmp_path)  # the data files
    (tmp_path / "utils.py").write_text(METRIC_UTILS)
    raw = yaml.safe_load((tmp_path / "tiny.yaml").read_text())
    for key in ("doc_to_choice", "metric_list", "output_type"):
        raw.pop(key)
    (tmp_path / "gen.yaml").write_text(yaml.safe_dump(raw) + (
        "generation_kwargs: {until: ['\\n'], max_gen_toks: 3}\n"
        "metric_list:\n"
        "  - {metric: !function utils.hit, aggregation: mean, weight: 2.0}\n"
        "  - {metric: !function utils.lengths, aggregation: !function utils.count, higher_is_better: false}\n"
        "  - {metric: !function utils.pair, aggregation: !function utils.first_gold}\n"
        "  - {metric: f1, aggregation: !function utils.first_gold, ignore_case: true}\n"
    ))
    task = load_task(tmp_path / "gen.yaml")
    assert task.metrics == ["hit", "lengths", "pair", "f1"]
    results, samples = evaluate_items(model, tokenizer, task, k=2, seed=0, batch_size=4)
    for s in samples:
        answer, gold = s["filtered_resps"][0], s["target"]
        assert s["hit"] == 2.0 * (gold[:1] in answer)
        assert (s["answer_len"], s["gold_len"]) == (len(answer), len(gold))
        assert list(s["pair"]) == [gold, answer] and tuple(s["f1"]) == (gold, answer)
    assert results["hit,none"] == pytest.approx(sum(s["hit"] for s in samples) / len(samples))
    # the keys of a dict result take their metric's aggregation and higher_is_better, as lm-eval 0.4.13 propagates them
    assert results["answer_len,none"] == results["gold_len,none"] == len(samples)
    from hf_replearn.evaluation.fewshot.lmeval_output import higher_is_better

    assert higher_is_better(task)["answer_len"] is False and higher_is_better(task)["hit"] is True
    assert results["pair,none"] == results["f1,none"] == pytest.approx(1.0)  # every gold is one letter long
    mc = {k: v for k, v in yaml.safe_load((tmp_path / "tiny.yaml").read_text()).items() if k != "metric_list"}
    (tmp_path / "mc.yaml").write_text(yaml.safe_dump(mc) + "metric_list:\n- {metric: !function utils.hit}\n")
    with pytest.raises(UserError, match=r"is not implemented for multiple_choice \(lm-eval calls a task's metric"):
        load_task(tmp_path / "mc.yaml")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(raw) + "generation_kwargs: {until: ['\\n'], max_gen_toks: 2}\n"
                                      "metric_list: [{metric: !function utils.broken}]\n")
    with pytest.raises(UserError, match=r"metric `broken` \(!function utils.broken\) failed on answer .*ZeroDivisionError"):
        evaluate_items(model, tokenizer, load_task(tmp_path / "bad.yaml"), k=0, seed=0)


def test_repeats_give_several_sampled_answers_per_document(model, tokenizer, tmp_path, write_task, monkeypatch):
    import collections

    import hf_replearn.evaluation.fewshot.evaluate as E

    common = dict(output_type="generate_until", doc_to_choice=None, metric_list=[{"metric": "exact_match"}], repeats=5,
                  filter_list=[{"name": "first", "filter": [{"function": "take_first"}]},
                               {"name": "maj", "filter": [{"function": "majority_vote"}, {"function": "take_first"}]}])  # fmt: skip
    sampled = load_task(write_task(tmp_path, generation_kwargs={"until": ["\n"], "max_gen_toks": 3, "do_sample": True,
                                                                  "temperature": 3.0}, **common))  # fmt: skip
    results, samples = evaluate_items(model, tokenizer, sampled, k=1, seed=0, batch_size=4)
    for s in samples:
        (answers,) = s["resps"]
        assert len(answers) == 5
        vote = collections.Counter(answers).most_common(1)[0][0]
        assert s["filtered_resps"] == [answers[0] if s["filter"] == "first" else vote]
    assert any(len(set(s["resps"][0])) > 1 for s in samples)  # the draws differ within a document
    assert set(results) == {"exact_match,first", "exact_match_stderr,first", "exact_match,maj", "exact_match_stderr,maj"}

    calls = []
    real = E.generate_until
    monkeypatch.setattr(E, "generate_until", lambda m, t, contexts, *a, **kw: calls.append(len(contexts)) or real(m, t, contexts, *a, **kw))
    greedy = load_task(write_task(tmp_path, generation_kwargs={"until": ["\n"], "max_gen_toks": 3}, **common))
    _, samples = evaluate_items(model, tokenizer, greedy, k=1, seed=0)
    n_docs = len({s["doc_id"] for s in samples})
    assert calls == [n_docs]  # greedy: one answer per document, repeated
    assert all(s["resps"][0] == [s["resps"][0][0]] * 5 for s in samples)
    with pytest.raises(UserError, match=r"`repeats: 5` is implemented for generate_until .* not multiple_choice"):
        load_task(write_task(tmp_path, repeats=5))


@pytest.mark.parametrize("output_type", ["multiple_choice", "generate_until"])
def test_a_long_run_shows_a_progress_bar(output_type, model, tokenizer, tmp_path, write_task, monkeypatch, capsys):
    from hf_replearn.utils import progress

    extra = {} if output_type == "multiple_choice" else dict(doc_to_choice=None, metric_list=[{"metric": "exact_match"}],
                                                              generation_kwargs={"until": ["\n"], "max_gen_toks": 2})  # fmt: skip
    task = load_task(write_task(tmp_path, output_type=output_type, **extra))
    evaluate_items(model, tokenizer, task, k=1, seed=0, batch_size=2)
    assert "tiny k=1 seed 0" not in capsys.readouterr().err  # shorter than the bar's delay: no bar
    monkeypatch.setattr(progress, "BAR_DELAY_S", 0.0)
    evaluate_items(model, tokenizer, task, k=1, seed=0, batch_size=2)
    assert "tiny k=1 seed 0" in capsys.readouterr().err
