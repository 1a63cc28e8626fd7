from pathlib import Path

import pytest
import yaml

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.task import export_lm_eval, load_docs, load_task


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
    with pytest.raises(UserError, match="metric `f1` does not apply to multiple_choice"):
        load_task(write_task(tmp_path, metric_list=[{"metric": "f1"}]))


def test_export_to_lm_eval_round_trips(tmp_path, write_task):
    task = load_task(write_task(tmp_path))
    out = export_lm_eval(task, tmp_path / "lm_eval" / "tiny.yaml")
    raw = yaml.safe_load(out.read_text())
    assert raw["output_type"] == "multiple_choice" and raw["fewshot_split"] == "train"
    assert raw["metric_list"][0] == {"metric": "acc", "aggregation": "mean", "higher_is_better": True}
    assert raw["dataset_kwargs"]["data_files"]["test"] == str(tmp_path / "test.jsonl")
    back = load_task(out)
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
