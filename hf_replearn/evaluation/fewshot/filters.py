"""lm-eval 0.4's response filters for generate_until: each ``filter_list`` entry is a named pipeline.

A pipeline maps every document's responses (a list: one greedy answer here) through its steps in order;
``take_first`` keeps the first response, the others map each response. The pipeline's name is the
``<filter>`` in result keys such as ``exact_match,strict-match`` (lm-eval's default pipeline is ``none``:
``take_first`` alone).

``multi_choice_regex`` (lm-eval's ``MultiChoiceRegexFilter``, for chain-of-thought answers to lettered questions)
reads the document too: when ``regex_pattern`` finds nothing, the answer is the choice whose text the response
contains (the longest such text wins; optionally compared without case, punctuation or ``regexes_to_ignore``),
turned into its letter as ``(A)``; failing that a bare letter after a colon (``Answer: B``), as ``(B)``; failing
that ``fallback``. The document's choices are its ``choices`` field, as lm-eval reads them.

A task's own filter runs as lm-eval runs it, over every document's responses at once: ``function: !function
utils.SomeFilter`` (with the step's other keys as arguments) is ``SomeFilter(**kwargs).apply(resps, docs)``, lm-eval's
``Filter`` protocol, and ``function: custom`` is ``filter_fn(resps, docs)``. Such a module runs the task author's
code, and a module written against lm-eval (``from lm_eval.filters.extraction import RegexFilter``) needs lm-eval
installed. ``map`` replaces each response by ``mapping_dict``'s value for it, ``default_value`` when it has none.

With ``repeats`` (several sampled answers per document, lm-eval's self-consistency tasks) ``take_first_k`` keeps
a document's first k answers and ``majority_vote`` its most frequent one (the first seen among equals).

Any other name is looked up in lm-eval's filter registry and run through the same protocol: lm-eval's task-specific
filters (``format_span``, ``regex_pos``) and those a task's module registers (``@register_filter``), as lm-eval
runs them. That needs lm-eval installed, as the task modules that use them already do.
"""

from __future__ import annotations

import collections
import re
import sys
import unicodedata
from functools import lru_cache

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.keys import FILTERS as BUILTIN
from hf_replearn.evaluation.fewshot.taskfile import run_task_code


def _match(regex: re.Pattern, text, group_select: int, empty: str) -> str | None:
    """``regex``'s ``group_select``-th match in ``text`` (of several groups, the first non-empty one, else
    ``empty``), stripped; None when nothing matches."""
    matches = regex.findall(text if isinstance(text, str) else "")
    if not matches:
        return None
    match = matches[group_select]
    if isinstance(match, tuple):
        match = next((m for m in match if m), empty)
    return match.strip()


def _regex(pattern: str = r"#### (\-?[0-9\.\,]+)", group_select: int = 0, fallback: str = "[invalid]"):
    compiled = re.compile(pattern)

    def one(resp):
        match = _match(compiled, resp, group_select, fallback)
        return fallback if match is None else match

    return one


def _first_group(regex: re.Pattern, text: str, group_select: int, letters: dict[str, str] | None = None) -> str:
    """:func:`_match` mapped through ``letters``; "" when nothing matches or every group is empty."""
    match = _match(regex, text, group_select, "")
    return "" if match is None else (letters or {}).get(match, match)


@lru_cache(maxsize=1)
def _punctuation_table() -> dict[int, None]:
    return dict.fromkeys(i for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P"))


def _multi_choice_regex(regex_pattern: str = r"#### (\-?[0-9\.\,]+)", group_select: int = 0, fallback: str = "[invalid]",
                        ignore_case: bool = False, ignore_punctuation: bool = False, regexes_to_ignore=None):  # fmt: skip
    compiled = re.compile(regex_pattern)

    def normalise(text: str) -> str:
        for pattern in regexes_to_ignore or []:
            text = re.sub(pattern, "", text)
        text = text.lower() if ignore_case else text
        return text.translate(_punctuation_table()) if ignore_punctuation else text

    def one(resp, doc: dict) -> str:
        if not isinstance(doc.get("choices"), list):
            raise UserError(f"filter multi_choice_regex reads each document's `choices` list, and a document's fields "
                            f"are {sorted(doc)}; add it in process_docs (as lm-eval's gpqa tasks do)")
        resp = resp if isinstance(resp, str) else ""  # normalise() needs a string
        letters = [chr(ord("A") + i) for i in range(len(doc["choices"]))]
        texts = {normalise(c.strip()): f"({letter})" for c, letter in zip(doc["choices"], letters)}
        by_text = re.compile("|".join(sorted((re.escape(t) for t in texts), key=len, reverse=True)))
        after_colon = re.compile(rf":[\s]*({'|'.join(letters)})")
        return (_first_group(compiled, resp, group_select)
                or _first_group(by_text, normalise(resp), group_select, texts)
                or _first_group(after_colon, resp, group_select, {x: f"({x})" for x in letters})
                or fallback)  # fmt: skip

    return one


def _per_document(one):
    """A step over all documents from ``one(value, doc)`` applied to each document's value."""
    return lambda values, docs: [one(value, doc) for value, doc in zip(values, docs, strict=True)]


def _per_response(one, reads_doc: bool = False):
    """``one(response)`` (``one(response, doc)`` when it ``reads_doc``) on each response of a document's list, or on
    its one value after take_first."""
    each = one if reads_doc else (lambda response, doc: one(response))
    return _per_document(lambda value, doc: [each(r, doc) for r in value] if isinstance(value, list) else each(value, doc))


def _authors(pipeline: str, fn, run):
    """``run(values, docs)``, the task author's code: its failure as a UserError naming the filter, not a traceback."""
    return lambda values, docs: run_task_code(
        lambda: list(run(values, docs)), failed=f"filter `{pipeline}`: {fn!r} failed on the model's answers",
        fix="check the filter against the responses and documents it is given",
    )  # fmt: skip


def _take_first_k(k: int):
    def one(value, doc):
        if len(value) < k:
            raise UserError(f"filter take_first_k: k={k} but the task gives {len(value)} answer(s) per document; "
                            f"set `repeats` to at least {k}")  # fmt: skip
        return value[:k]

    return _per_document(one)


def _step(spec: dict, pipeline: str = "none"):
    """One filter step over every document's values at once: ``(values, docs) -> values``, as lm-eval's
    ``Filter.apply``."""
    fn = spec["function"]
    kwargs = {k: v for k, v in spec.items() if k != "function"}
    if callable(fn):  # `!function module.SomeFilter`: lm-eval's Filter protocol, the task author's code
        return _authors(pipeline, fn, lambda values, docs: fn(**kwargs).apply(values, docs))
    if fn == "custom":
        filter_fn = kwargs["filter_fn"]
        return _authors(pipeline, filter_fn, filter_fn)
    if fn == "take_first":
        return _per_document(lambda value, doc: value[0])
    if fn == "take_first_k":  # the first k of a document's `repeats` answers
        return _take_first_k(int(kwargs["k"]))
    if fn == "majority_vote":  # the most frequent answer (the first seen among equals), as a one-answer list
        return _per_document(lambda value, doc: [collections.Counter(value).most_common(1)[0][0]])
    if fn == "multi_choice_regex":
        return _per_response(_multi_choice_regex(**kwargs), reads_doc=True)
    if fn == "map":
        mapping, default = kwargs.get("mapping_dict") or {}, kwargs.get("default_value")
        return _per_response(lambda r: mapping.get(r, default))
    if fn == "regex":
        return _per_response(_regex(kwargs.get("regex_pattern", r"#### (\-?[0-9\.\,]+)"), kwargs.get("group_select", 0),
                                    kwargs.get("fallback", "[invalid]")))  # fmt: skip
    simple = {"remove_whitespace": str.strip, "lowercase": str.lower, "uppercase": str.upper}
    if fn in simple:
        return _per_response(simple[fn])
    cls = registered_filter(fn, pipeline)  # lm-eval's own (format_span, regex_pos) or one a task module registers
    return _authors(pipeline, cls, lambda values, docs: cls(**kwargs).apply(values, docs))


def registered_filter(name: str, pipeline: str = "none"):
    """The filter class lm-eval's registry holds under ``name``: lm-eval's own filters (importing ``lm_eval.filters``
    registers them) and any a task's module registered with ``@register_filter`` when it was imported (so the task's
    ``!function`` modules are imported first: ``FewShotTask.resolve_functions``). A UserError when lm-eval is not
    installed or has no such filter."""
    try:
        import lm_eval.filters  # noqa: F401  (registers lm-eval's own filters)
        from lm_eval.api.registry import get_filter
    except ImportError as err:
        raise UserError(f"filter `{pipeline}`: function {name!r} runs from lm-eval's filter registry, and lm-eval "
                        f"does not import ({err}); pip install lm_eval") from None  # fmt: skip
    try:
        return get_filter(name)
    except KeyError:
        raise UserError(f"filter `{pipeline}`: function {name!r} is neither one of this evaluator's filters "
                        f"({', '.join(BUILTIN)}) nor registered in lm-eval (its own filters, and those the task's "
                        "modules register with @register_filter); check the name") from None  # fmt: skip


def apply_filters(filter_list: list[dict], responses: list[list[str]], docs: list[dict]) -> dict[str, list]:
    """``{pipeline name: [filtered response per document]}``; ``docs``: the documents, in the same order."""
    out = {}
    for pipeline in filter_list:
        values = responses
        for spec in pipeline["filter"]:
            values = _step(spec, pipeline["name"])(values, docs)
        if len(values) != len(docs):
            raise UserError(f"filter `{pipeline['name']}` returned {len(values)} values for {len(docs)} documents; "
                            "a filter's apply(resps, docs) returns one entry per document, in order")
        out[pipeline["name"]] = values
    return out
