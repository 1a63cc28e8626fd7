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
    out = apply_filters(pipelines, [["so #### 12 then 7"], ["  no number "]])
    assert out["strict"] == ["12", "[invalid]"]
    assert out["flex"] == ["7", "[invalid]"]
    assert out["clean"] == ["SO #### 12 THEN 7", "NO NUMBER"]
