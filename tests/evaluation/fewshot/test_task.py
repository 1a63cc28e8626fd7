from pathlib import Path

import pytest
import yaml

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.export import export_lm_eval
from hf_replearn.evaluation.fewshot.task import load_docs, load_task


def test_target_and_choices(tmp_path, write_task):
    task = load_task(write_task(tmp_path))
    doc = {"input": "a", "label": "B"}
    assert task.choices(doc) == ["A", "B"] and task.target(doc) == 1 and task.target_text(doc) == "B"
    task.doc_to_target = "{{ 0 }}"  # an index rendered by a template
    assert task.target(doc) == 0


def test_template_naming_a_missing_field_is_an_error(tmp_path, write_task):
    task = load_task(write_task(tmp_path, doc_to_text="{{question}} ->"))
    with pytest.raises(UserError, match=r"doc_to_text template '\{\{question\}\} ->' names field\(s\) \['question'\]"):
        load_docs(task)


def test_empty_choice_list_is_an_error(tmp_path, write_task):
    with pytest.raises(UserError, match="doc_to_choice is an empty list"):
        load_task(write_task(tmp_path, doc_to_choice=[]))
    task = load_task(write_task(tmp_path, doc_to_choice="{{ [] }}"))
    with pytest.raises(UserError, match="empty choice list"):
        task.choices({"input": "a", "label": "A"})


def test_unknown_key_and_wrong_metric_are_errors(tmp_path, write_task):
    with pytest.raises(UserError, match="unknown key `fewshot_delimeter`; did you mean `fewshot_delimiter`"):
        load_task(write_task(tmp_path, fewshot_delimeter="\n"))
    with pytest.raises(UserError, match="metric `bleu` is not implemented for multiple_choice"):
        load_task(write_task(tmp_path, metric_list=[{"metric": "bleu"}]))


def test_export_to_lm_eval_round_trips(tmp_path, write_task):
    task = load_task(write_task(tmp_path))
    out = export_lm_eval(task, tmp_path / "lm_eval" / "tiny.yaml")
    raw = yaml.safe_load(out.read_text())
    assert raw["output_type"] == "multiple_choice" and raw["fewshot_split"] == "train"
    assert raw["metric_list"][0] == {"metric": "acc", "aggregation": "mean", "higher_is_better": True}
    assert raw["dataset_kwargs"]["data_files"]["test"] == str(tmp_path / "test.jsonl")
    back = load_task(out)
    assert back.sampler == "default"  # lm-eval has no per_document sampler: the export leaves its own default
    task.fewshot_config = {"sampler": "default"}
    test, shots = load_docs(back)
    assert [p.context for p in build_prompts(back, test, shots, 3, 1)] == [
        p.context for p in build_prompts(task, *load_docs(task), 3, 1)
    ]


POLARITY = Path("/usr/share/doc/python3-pattern/test/corpora/polarity-en-pang&lee2.csv")
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not POLARITY.is_file(), reason="apt-get install --no-install-recommends python3-pattern")
def test_polarity_task_reads_the_packaged_corpus_shuffled():
    task = load_task(REPO / "recipes" / "fewshot" / "polarity.yaml")
    test, shots = load_docs(task)
    assert len(test) == 200 and len(shots) == 4000
    assert sum(task.target(d) for d in test) == 98  # shuffled: both labels among the first 200
    assert test == shots[:200]  # same permutation for both, so the document itself is excluded by position
    (p,) = build_prompts(task, test[:1], shots, k=1, seed=0)
    assert p.context.endswith(f"Review: {test[0]['text'].strip()}\nSentiment:") and p.shot_indices != [0]


def test_paraphrase_task_reads_the_embedded_pairs_and_exports_them_for_lm_eval(tmp_path):
    task = load_task(REPO / "recipes" / "fewshot" / "paraphrase.yaml")
    test, shots = load_docs(task)
    assert len(test) == 200 and len(shots) > 10 * len(test)
    assert {task.target(d) for d in test} == {0, 1}
    (p,) = build_prompts(task, test[:1], shots, k=2, seed=0)
    assert p.context.count("Question: Do both sentences mean the same thing?") == 3
    assert p.context.endswith(f"Sentence 2: {test[0]['sentence2']}\nQuestion: Do both sentences mean the same thing?\nAnswer:")
    out = export_lm_eval(task, tmp_path / "lm_eval" / "paraphrase.yaml")
    raw = yaml.safe_load(out.read_text())
    assert raw["dataset_path"] == "json" and Path(raw["dataset_kwargs"]["data_files"]["validation"]).is_file()
    back_test, back_shots = load_docs(load_task(out))  # lm-eval takes the limit on its command line, not in the task
    assert back_test[: len(test)] == test and len(back_shots) == len(shots)


def test_unknown_embedded_set_names_the_choices(tmp_path, write_task):
    path = write_task(tmp_path)
    path.write_text(path.read_text().replace("dataset_path: json", "dataset_path: embedded:nope"))
    with pytest.raises(UserError, match="no embedded set `nope`.*embedded:bible_paraphrase"):
        load_docs(load_task(path))


@pytest.mark.parametrize("key, value", [("limit", -2), ("limit", 0), ("num_fewshot", -1)])
def test_counts_below_their_range_are_refused(key, value, tmp_path, write_task):
    with pytest.raises(UserError, match=rf"tiny.yaml: {key}={value} must be >= {0 if key == 'num_fewshot' else 1}"):
        load_task(write_task(tmp_path, **{key: value}))
