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
