"""lm-eval 0.4's response filters for generate_until: each ``filter_list`` entry is a named pipeline.

A pipeline maps every document's responses (a list: one greedy answer here) through its steps in order;
``take_first`` keeps the first response, the others map each response. The pipeline's name is the
``<filter>`` in result keys such as ``exact_match,strict-match`` (lm-eval's default pipeline is ``none``:
``take_first`` alone).
"""

from __future__ import annotations

import re


def _regex(pattern: str = r"#### (\-?[0-9\.\,]+)", group_select: int = 0, fallback: str = "[invalid]"):
    compiled = re.compile(pattern)

    def one(resp):
        matches = compiled.findall(resp if isinstance(resp, str) else "")
        if not matches:
            return fallback
        match = matches[group_select]
        if isinstance(match, tuple):  # several groups: the first non-empty one
            match = next((m for m in match if m), fallback)
        return match.strip()

    return one


def _step(spec: dict):
    fn = spec["function"]
    kwargs = {k: v for k, v in spec.items() if k != "function"}
    if fn == "take_first":
        return lambda resps: resps[0]
    if fn == "regex":
        one = _regex(kwargs.get("regex_pattern", r"#### (\-?[0-9\.\,]+)"), kwargs.get("group_select", 0),
                     kwargs.get("fallback", "[invalid]"))  # fmt: skip
    else:
        one = {"remove_whitespace": str.strip, "lowercase": str.lower, "uppercase": str.upper}[fn]
    return lambda resps: [one(r) for r in resps] if isinstance(resps, list) else one(resps)


def apply_filters(filter_list: list[dict], responses: list[list[str]]) -> dict[str, list]:
    """``{pipeline name: [filtered response per document]}``."""
    out = {}
    for pipeline in filter_list:
        steps = [_step(s) for s in pipeline["filter"]]
        filtered = []
        for resps in responses:
            value = resps
            for step in steps:
                value = step(value)
            filtered.append(value)
        out[pipeline["name"]] = filtered
    return out
