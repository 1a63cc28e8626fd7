import sys

import pytest

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.filters import apply_filters


def test_lm_eval_filter_pipelines():
    pipelines = [
        {"name": "strict", "filter": [{"function": "regex", "regex_pattern": r"#### (\-?[0-9\.\,]+)"},
                                      {"function": "take_first"}]},
        {"name": "flex", "filter": [{"function": "regex", "regex_pattern": r"(-?\d+)|(x)", "group_select": -1},
                                    {"function": "take_first"}]},
        {"name": "clean", "filter": [{"function": "remove_whitespace"}, {"function": "uppercase"},
                                     {"function": "take_first"}]},
    ]
    out = apply_filters(pipelines, [["so #### 12 then 7"], ["  no number "]], [{}, {}])
    assert out["strict"] == ["12", "[invalid]"]
    assert out["flex"] == ["7", "[invalid]"]
    assert out["clean"] == ["SO #### 12 THEN 7", "NO NUMBER"]


def test_multi_choice_regex_as_lm_evals_chain_of_thought_tasks_use_it():
    """gpqa / mmlu flan_cot: the letter in parentheses; else the choice whose text the answer holds (the longest,
    compared without case and punctuation); else a bare letter after a colon; else the fallback."""
    pipeline = [{"name": "flexible-extract", "filter": [
        {"function": "multi_choice_regex", "group_select": -1, "ignore_case": True, "ignore_punctuation": True,
         "regex_pattern": r"(\([A-Z]\))", "regexes_to_ignore": ["um "]},
        {"function": "take_first"}]}]  # fmt: skip
    doc = {"choices": ["London", "Paris", "Paris, France", "Rome"]}
    answers = ["(A) or maybe (C).", "I think it is PARIS france!", "it is paris", "um Rome it is", "Answer: D",
               "Answer:B then", "no idea"]  # fmt: skip
    out = apply_filters(pipeline, [[a] for a in answers], [doc] * len(answers))["flexible-extract"]
    assert out == ["(C)", "(C)", "(B)", "(D)", "(D)", "(B)", "[invalid]"]
    with pytest.raises(UserError, match=r"reads each document's `choices` list, and a document's fields are \['question'\]"):
        apply_filters(pipeline, [["(A)"]], [{"question": "q"}])


UTILS = '''
class LastWord:  # lm-eval's Filter protocol: built with the step's keys, apply(resps, docs) over every document
    def __init__(self, lower=False):
        self.lower = lower

    def apply(self, resps, docs):
        return ([r.split()[-1].lower() if self.lower else r.split()[-1] for r in rs] for rs in resps)  # a generator


def by_doc(resps, docs):
    return [[f"{d['id']}:{r}" for r in rs] for rs, d in zip(resps, docs)]


def drop_one(resps, docs):
    return resps[1:]
'''


def _task_with_filters(tmp_path, filters: str, utils: str = UTILS):
    from hf_replearn.evaluation.fewshot.task import load_task

    (tmp_path / "utils.py").write_text(utils)
    (tmp_path / "t.yaml").write_text(
        "task: t\ndataset_path: json\noutput_type: generate_until\ndoc_to_text: '{{q}}'\ndoc_to_target: a\n"
        "filter_list:\n" + filters
    )
    return load_task(tmp_path / "t.yaml")


def test_a_tasks_own_filter_class_custom_function_and_map(tmp_path):
    task = _task_with_filters(tmp_path, """\
  - name: last
    filter: [{function: !function utils.LastWord, lower: true}, {function: take_first}]
  - name: custom
    filter: [{function: custom, filter_fn: !function utils.by_doc}, {function: take_first}]
  - name: mapped
    filter: [{function: !function utils.LastWord}, {function: map, mapping_dict: {'Yes': 1, 'No': 0}, default_value: -1},
             {function: take_first}]
""")
    out = apply_filters(task.filters, [["so the answer is Yes", "x"], ["I say No"], ["maybe"]],
                        [{"id": 1}, {"id": 2}, {"id": 3}])  # fmt: skip
    assert out["last"] == ["yes", "no", "maybe"]
    assert out["custom"] == ["1:so the answer is Yes", "2:I say No", "3:maybe"]
    assert out["mapped"] == [1, 0, -1]


def test_a_filter_that_loses_documents_or_lacks_its_function_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # lm-eval not installed (another test may have imported it)
    task = _task_with_filters(tmp_path, "  - name: lossy\n    filter: [{function: custom, filter_fn: !function utils.drop_one}]\n")
    with pytest.raises(UserError, match=r"filter `lossy` returned 1 values for 2 documents"):
        apply_filters(task.filters, [["a"], ["b"]], [{}, {}])
    with pytest.raises(UserError, match=r"function `custom` needs `filter_fn: !function module.name`"):
        _task_with_filters(tmp_path, "  - name: c\n    filter: [{function: custom}]\n")
    with pytest.raises(UserError, match=r"function 'format_spam' is not one of this evaluator's filters \(take_first, .*\); "
                                        r"other names run from lm-eval's filter registry, which needs lm-eval installed"):
        _task_with_filters(tmp_path, "  - name: c\n    filter: [{function: format_spam}]\n")


def test_a_filter_module_importing_what_is_not_installed_says_what_to_install(tmp_path):
    task = _task_with_filters(tmp_path, "  - name: f\n    filter: [{function: !function utils.LastWord}]\n",
                              utils="import not_a_module_here\n" + UTILS)
    with pytest.raises(UserError, match=r"utils.py imports `not_a_module_here`, which is not installed; install it"):
        apply_filters(task.filters, [["a"]], [{}])


def test_a_failing_filter_of_the_task_is_named_not_a_traceback(tmp_path):
    task = _task_with_filters(tmp_path, "  - name: keyed\n    filter: [{function: custom, filter_fn: !function utils.by_doc}]\n")
    with pytest.raises(UserError, match=r"filter `keyed`: !function utils.by_doc failed on the model's answers: KeyError: 'id'"):
        apply_filters(task.filters, [["a"]], [{"no_id": 1}])


def test_self_consistency_filters_over_repeated_answers():
    """lm-eval's gsm8k-cot-self-consistency pipelines: score-first, maj@k over the first k, maj over all."""
    pipelines = [
        {"name": "first", "filter": [{"function": "regex", "regex_pattern": r"is (\d+)"}, {"function": "take_first"}]},
        {"name": "maj@3", "filter": [{"function": "take_first_k", "k": 3}, {"function": "regex", "regex_pattern": r"is (\d+)"},
                                     {"function": "majority_vote"}, {"function": "take_first"}]},
        {"name": "maj", "filter": [{"function": "regex", "regex_pattern": r"is (\d+)"}, {"function": "majority_vote"},
                                   {"function": "take_first"}]},
    ]  # fmt: skip
    answers = [["it is 4", "it is 5", "it is 5", "it is 4", "it is 4"], ["it is 7", "no", "no", "it is 7", "it is 9"]]
    out = apply_filters(pipelines, answers, [{}, {}])
    assert out == {"first": ["4", "7"], "maj@3": ["5", "[invalid]"], "maj": ["4", "7"]}
    with pytest.raises(UserError, match=r"k=8 but the task gives 5 answer\(s\) per document; set `repeats` to at least 8"):
        apply_filters([{"name": "m", "filter": [{"function": "take_first_k", "k": 8}]}], answers, [{}, {}])
