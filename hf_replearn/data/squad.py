"""SQuAD-format extractive QA: validation, and tokenisation into windows with doc_stride.

An example is ``{id, question, context, answers: {text: [...], answer_start: [...]}}`` (SQuAD v1.1 and
v2.0; an unanswerable v2 question has empty lists). A context longer than ``max_length`` tokens is cut
into overlapping windows ("features"), consecutive windows sharing ``doc_stride`` tokens, as in BERT's
``run_squad`` (Devlin et al., 2019). For training, a window's label is the token span of the first
answer, or the [CLS] position (0) when the answer is not wholly inside it or the question has none. For
evaluation, each window keeps its example id and an offset mapping restricted to context tokens, which
:mod:`hf_replearn.evaluation.qa_postprocess` maps back to character spans.
"""

from __future__ import annotations

from hf_replearn.errors import UserError

SQUAD_COLUMNS = ("id", "question", "context", "answers")


def validate_squad(dataset, where: str = "dataset", allow_unanswerable: bool = False) -> None:
    """Check the columns and that every ``answer_start`` points at its answer text.

    Raises :class:`UserError` naming the row (index and id) and the fix.
    """
    missing = [c for c in SQUAD_COLUMNS if c not in dataset.column_names]
    if missing:
        raise UserError(
            f"{where}: missing column(s) {', '.join(missing)} (has {', '.join(dataset.column_names)}); a SQuAD-format "
            "dataset needs id, question, context and answers = {text: [...], answer_start: [...]}"
        )
    for row, example in enumerate(dataset):
        answers, context = example["answers"], example["context"]
        texts, starts = list(answers["text"]), list(answers["answer_start"])
        if len(texts) != len(starts):
            raise UserError(
                f"{where}, row {row} (id {example['id']!r}): answers has {len(texts)} text(s) but "
                f"{len(starts)} answer_start(s); give one character offset per answer text"
            )
        if not texts and not allow_unanswerable:
            raise UserError(
                f"{where}, row {row} (id {example['id']!r}) has no answer; unanswerable questions need the "
                "SQuAD v2 recipe (recipes/squad_v2.yaml, or version_2_with_negative=true)"
            )
        for text, start in zip(texts, starts):
            if context[start : start + len(text)] != text:
                found = context.find(text)
                fix = f"the text occurs at {found}" if found >= 0 else "the text does not occur in the context"
                raise UserError(
                    f"{where}, row {row} (id {example['id']!r}): answer_start {start} does not match answer "
                    f"{text!r} (context there reads {context[start:start + len(text)]!r}); {fix}: "
                    "answer_start must be the character offset of the answer in the context"
                )


def _tokenize(examples, tokenizer, max_length: int, doc_stride: int | None, pad_to_max_length: bool = True):
    pad_on_right = tokenizer.padding_side == "right"
    questions = [q.lstrip() for q in examples["question"]]  # leading spaces waste tokens (SQuAD has some)
    first, second = (questions, examples["context"]) if pad_on_right else (examples["context"], questions)
    if doc_stride is None:
        enc = tokenizer(first, second, truncation=False)
        for i, ids in enumerate(enc["input_ids"]):
            if len(ids) > max_length:
                raise UserError(
                    f"example id {examples['id'][i]!r}: question + context take {len(ids)} tokens, more than "
                    f"max_length={max_length}, and doc_stride is not set; set data.doc_stride (e.g. 128) to "
                    "split long contexts into overlapping windows, or raise data.max_length"
                )
    try:
        enc = tokenizer(
            first,
            second,
            truncation="only_second" if pad_on_right else "only_first",
            max_length=max_length,
            stride=doc_stride or 0,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="max_length" if pad_to_max_length else False,
        )
    except BaseException as err:  # the tokenizer refuses a stride that leaves no room for the context
        # (a fast tokenizer by a Rust panic, which Python sees as a BaseException, not an Exception)
        refused = isinstance(err, Exception) or type(err).__name__ == "PanicException"
        if refused and ("stride" in str(err) or "truncat" in str(err)):
            raise UserError(
                f"doc_stride={doc_stride} with max_length={max_length} leaves no room for the context after "
                f"the question ({str(err).splitlines()[0]}); lower data.doc_stride or raise data.max_length"
            ) from None
        raise
    return enc, (1 if pad_on_right else 0)


def prepare_train_features(examples, tokenizer, max_length: int = 384, doc_stride: int | None = 128,
                           pad_to_max_length: bool = False):
    """Batched ``Dataset.map`` function: windows with ``start_positions`` / ``end_positions``.

    Windows hold at most ``max_length`` tokens and are left unpadded: the Trainer's DataCollatorWithPadding
    pads each batch to its longest window (run_qa.py pads every window to max_length, which on short
    passages spends most of the compute on padding). ``pad_to_max_length=True`` pads them here.
    """
    enc, context_id = _tokenize(examples, tokenizer, max_length, doc_stride, pad_to_max_length)
    sample_map = enc.pop("overflow_to_sample_mapping")
    offsets = enc.pop("offset_mapping")
    enc["start_positions"], enc["end_positions"] = [], []
    for i, offset in enumerate(offsets):
        cls_index = enc["input_ids"][i].index(tokenizer.cls_token_id) if tokenizer.cls_token_id in enc["input_ids"][i] else 0
        answers = examples["answers"][sample_map[i]]
        seq_ids = enc.sequence_ids(i)
        start, end = cls_index, cls_index
        if answers["text"]:
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            ctx = [t for t, s in enumerate(seq_ids) if s == context_id]
            first_tok, last_tok = ctx[0], ctx[-1]
            if offset[first_tok][0] <= start_char and offset[last_tok][1] >= end_char:
                start = first_tok
                while start <= last_tok and offset[start][1] <= start_char:
                    start += 1
                end = last_tok
                while end >= first_tok and offset[end][0] >= end_char:
                    end -= 1
        enc["start_positions"].append(start)
        enc["end_positions"].append(end)
    return enc


def prepare_eval_features(examples, tokenizer, max_length: int = 384, doc_stride: int | None = 128):
    """Batched ``Dataset.map`` function: windows with ``example_id`` and context-only ``offset_mapping``."""
    enc, context_id = _tokenize(examples, tokenizer, max_length, doc_stride)
    sample_map = enc.pop("overflow_to_sample_mapping")
    enc["example_id"] = []
    for i in range(len(enc["input_ids"])):
        seq_ids = enc.sequence_ids(i)
        enc["example_id"].append(examples["id"][sample_map[i]])
        # None outside the context, so that post-processing never picks a question or special token.
        enc["offset_mapping"][i] = [o if seq_ids[k] == context_id else None for k, o in enumerate(enc["offset_mapping"][i])]
    return enc


def read_squad_file(path, where: str = "data"):
    """A SQuAD file as a flat ``Dataset``: the official nested JSON (``{"data": [{"paragraphs": ...}]}``)
    or JSON lines / a JSON list of flat ``{id, question, context, answers}`` records."""
    import json
    from pathlib import Path

    from datasets import Dataset, load_dataset

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{where}: {path} does not exist; give the path of a SQuAD-format JSON file")
    if path.suffix == ".json":
        with open(path, encoding="utf-8") as handle:
            try:
                raw = json.load(handle)
            except json.JSONDecodeError as err:
                raise UserError(f"{where}: {path} is not valid JSON ({err})") from None
        if isinstance(raw, dict) and "data" in raw:
            rows = []
            for article in raw["data"]:
                for paragraph in article["paragraphs"]:
                    for qa in paragraph["qas"]:
                        answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                        rows.append({"id": str(qa["id"]), "title": article.get("title", ""), "question": qa["question"],
                                     "context": paragraph["context"],
                                     "answers": {"text": [a["text"] for a in answers],
                                                 "answer_start": [int(a["answer_start"]) for a in answers]}})  # fmt: skip
            return Dataset.from_list(rows)
    return load_dataset("json", data_files=str(path), split="train")
