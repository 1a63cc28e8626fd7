import json
import random

import pytest

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.prompts import build_prompts
from hf_replearn.evaluation.fewshot.task import load_docs, load_task

BASE = """\
dataset_path: json
dataset_kwargs: {data_files: {train: data/train.jsonl, test: data/test.jsonl}}
test_split: test
fewshot_split: train
output_type: multiple_choice
doc_to_choice: ["A", "B"]
target_delimiter: " "
fewshot_delimiter: "\\n"
metric_list: [{metric: acc, aggregation: mean, higher_is_better: true}]
"""


@pytest.fixture
def lm_eval_task(tmp_path):
    """An lm-eval style task: a base file included by the task, a !function, data beside it."""
    (tmp_path / "data").mkdir()
    rows = [{"x": "abcdefghij"[i % 10], "y": "AB"[i % 3 % 2]} for i in range(14)]
    for split, part in (("train", rows[:10]), ("test", rows[10:])):
        (tmp_path / "data" / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    (tmp_path / "_base.yaml").write_text(BASE)
    (tmp_path / "utils.py").write_text(
        "def process_docs(ds):\n    return ds.map(lambda d: {'x': d['x'].upper()})\n"
    )
    (tmp_path / "task.yaml").write_text(
        "include: _base.yaml\ntask: letters\ntag: [toy]\ndoc_to_text: 'Q: {{x}}'\ndoc_to_target: y\n"
        "description: \"Letters ({{x}}):\\n\"\nprocess_docs: !function utils.process_docs\n"
        "metadata: {version: 2.0}\nfewshot_config: {sampler: first_n}\n"
    )
    return tmp_path / "task.yaml"


def test_include_function_and_first_n(lm_eval_task):
    task = load_task(lm_eval_task)
    assert task.task == "letters" and task.target_delimiter == " " and task.tag == ["toy"]
    assert repr(task.process_docs) == "!function utils.process_docs"
    test, shots = load_docs(task)
    assert test[0]["x"] == "A" and shots[0]["x"] == "A"  # process_docs ran on both splits
    (p,) = build_prompts(task, test[:1], shots, k=2, seed=0)
    assert p.context == "Letters (A):\nQ: A A\nQ: B B\nQ: A"


def test_templates_read_the_columns_process_docs_makes(lm_eval_task):
    """As lm-eval's hellaswag: process_docs builds `query` and `choices`, which the raw rows lack and the templates
    name; a process_docs that fails on the data is named, not a traceback."""
    folder = lm_eval_task.parent
    (folder / "utils.py").write_text(
        "def process_docs(ds):\n"
        "    return ds.map(lambda d: {'query': 'Q: ' + d['x'], 'choices': ['A', 'B'], 'gold': 'AB'.index(d['y'])})\n"
        "def broken(ds):\n    return ds.map(lambda d: {'q': d['missing']})\n"
    )
    (folder / "made.yaml").write_text("include: _base.yaml\ntask: made\nprocess_docs: !function utils.process_docs\n"
                                      "doc_to_text: '{{query}}'\ndoc_to_choice: choices\ndoc_to_target: gold\n"
                                      "fewshot_config: {sampler: first_n}\n")  # fmt: skip
    task = load_task(folder / "made.yaml")
    test, shots = load_docs(task)
    assert test[0]["query"] == "Q: a" and task.choices(test[0]) == ["A", "B"]
    (p,) = build_prompts(task, test[:1], shots, k=1, seed=0)
    assert p.context == "Q: a A\nQ: a"

    (folder / "typo.yaml").write_text("include: made.yaml\ntask: typo\ndoc_to_text: '{{querry}}'\n")
    with pytest.raises(UserError, match=r"doc_to_text template '\{\{querry\}\}' names field\(s\) \['querry'\].*did you mean `query`"):
        load_docs(load_task(folder / "typo.yaml"))
    (folder / "broken.yaml").write_text("include: made.yaml\ntask: broken\nprocess_docs: !function utils.broken\n")
    with pytest.raises(UserError, match=r"broken.yaml: process_docs \(!function utils.broken\) failed on the dataset: "
                                        r"KeyError: 'missing'; check that the data has the columns"):  # fmt: skip
        load_docs(load_task(folder / "broken.yaml"))


def test_default_sampler_reproduces_lm_evals_random_calls(lm_eval_task):
    task = load_task(lm_eval_task, fewshot_config={"sampler": "default"})
    test, shots = load_docs(task)
    prompts = build_prompts(task, test, shots, k=3, seed=1234)
    rnd = random.Random(1234)  # one generator per task, drawn in document order, as lm-eval's ContextSampler
    for p in prompts:
        assert p.shot_indices == rnd.sample(range(len(shots)), 3)


def test_default_sampler_leaves_out_the_test_document_when_splits_agree(tmp_path, lm_eval_task):
    task = load_task(lm_eval_task, fewshot_config={"sampler": "default"}, fewshot_split="test")
    test, shots = load_docs(task)
    rnd = random.Random(5)
    for p, doc in zip(build_prompts(task, test, shots, k=2, seed=5), test):
        drawn = [i for i in rnd.sample(range(len(shots)), 3) if shots[i] != doc][:2]
        assert p.shot_indices == drawn and all(shots[i] != doc for i in p.shot_indices)


def test_data_files_resolve_against_the_working_directory_first(lm_eval_task, tmp_path, monkeypatch):
    assert load_task(lm_eval_task).dataset_kwargs["data_files"]["train"] == str(tmp_path / "data" / "train.jsonl")
    other = tmp_path / "cwd"
    (other / "data").mkdir(parents=True)
    (other / "data" / "train.jsonl").write_text("{}\n")
    monkeypatch.chdir(other)
    files = load_task(lm_eval_task).dataset_kwargs["data_files"]
    assert files["train"] == str(other / "data" / "train.jsonl") and files["test"] == str(tmp_path / "data" / "test.jsonl")


def test_errors_name_every_problem_at_once(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("task: t\noutput_type: multiple_choice\nprocess_results: !function utils.pr\nclass: !function x.Y\n")
    with pytest.raises(UserError) as err:
        load_task(path)
    message = str(err.value)
    assert "`class` (a custom Python task class) is an lm-eval key that hf-replearn fewshot does not implement" in message
    assert "missing required key(s) `dataset_path`, `doc_to_text`, `doc_to_target`, `doc_to_choice`" in message
    path.write_text(BASE + "task: t\ndoc_to_text: x\ndoc_to_target: y\noutput_type: loglikelihood_rolling\n")
    with pytest.raises(UserError, match="metric `acc` is not implemented for loglikelihood_rolling "
                                        r"\(available: word_perplexity, byte_perplexity, bits_per_byte\)"):
        load_task(path)
    path.write_text(BASE + "task: t\ndoc_to_text: x\ndoc_to_target: y\noutput_type: rolling\n")
    with pytest.raises(UserError, match="output_type must be one of"):
        load_task(path)
    path.write_text(BASE + "task: t\ndoc_to_text: x\ndoc_to_target: y\nfewshot_config: {sampler: balanced}\n")
    with pytest.raises(UserError, match="fewshot_config.sampler `balanced` is not implemented"):
        load_task(path)
    path.write_text("include: nope.yaml\ntask: t\n")
    with pytest.raises(UserError, match="include 'nope.yaml': no file"):
        load_task(path)


def test_generate_until_defaults_are_lm_evals(tmp_path):
    path = tmp_path / "gen.yaml"
    path.write_text("task: g\ndataset_path: json\ndoc_to_text: x\ndoc_to_target: y\nfewshot_delimiter: \"\\n\"\n")
    task = load_task(path)
    assert task.output_type == "generate_until" and task.until == ["\n"] and task.metrics == ["exact_match"]
    assert task.sampling is None and task.max_gen_toks == 256
    base = path.read_text()

    def with_kwargs(kwargs: str):
        path.write_text(base + f"generation_kwargs: {kwargs}\n")
        return load_task(path)

    # lm-eval's normalize_gen_kwargs: sampling when do_sample is true, or unset with a temperature above 0
    assert with_kwargs("{do_sample: true, temperature: 0.7, top_p: 0.95}").sampling == {"temperature": 0.7, "top_p": 0.95}
    assert with_kwargs("{temperature: 0.5}").sampling == {"temperature": 0.5}
    assert with_kwargs("{do_sample: false, temperature: 0.7}").sampling is None
    assert with_kwargs("{do_sample: true}").sampling == {}  # the model's generation config, then transformers' defaults
    # the most tokens: max_gen_toks > max_new_tokens > max_tokens > max_completion_tokens
    assert with_kwargs("{max_new_tokens: 16, max_tokens: 8}").max_gen_toks == 16
    assert with_kwargs("{max_gen_toks: 4, max_new_tokens: 16, num_beams: 1}").max_gen_toks == 4
    assert with_kwargs("{num_beams: 4}").num_beams == 4
    with pytest.raises(UserError, match=r"`num_beams: 4` with `do_sample: true` \(beam sampling\) is not implemented"):
        with_kwargs("{num_beams: 4, do_sample: true, temperature: 0.7}")
    with pytest.raises(UserError, match=r"`num_beams: 0` must be a whole number >= 1"):
        with_kwargs("{num_beams: 0}")
    with pytest.raises(UserError, match=r"`repetition_penalty` is not implemented .*implemented: until, do_sample"):
        with_kwargs("{repetition_penalty: 1.2}")
    with pytest.raises(UserError, match=r"`do_sample: true` needs a temperature above 0"):
        with_kwargs("{do_sample: true, temperature: 0.0}")


def test_a_module_named_by_several_functions_is_imported_once_and_a_failing_import_is_named(tmp_path):
    """Every `!function` into one file shares one import of it (a module that registers an lm-eval filter, as
    acpbench's acp_utils, cannot register it twice); a module that raises on import is a UserError naming it."""
    from hf_replearn.evaluation.fewshot.task import load_task

    (tmp_path / "utils.py").write_text("IMPORTS = []\nIMPORTS.append(1)\n\ndef keep(docs):\n    return docs\n\n"
                                       "def text(doc):\n    return str(len(IMPORTS))\n")  # fmt: skip
    (tmp_path / "t.yaml").write_text("task: t\ndataset_path: json\noutput_type: generate_until\n"
                                     "process_docs: !function utils.keep\ndoc_to_text: !function utils.text\n"
                                     "doc_to_target: a\n")  # fmt: skip
    task = load_task(tmp_path / "t.yaml")
    task.resolve_functions()
    assert task.text({}) == "1"  # not "2": process_docs and doc_to_text share the module
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "utils.py").write_text("raise ValueError('alias already registered')\n")
    (tmp_path / "bad" / "t.yaml").write_text((tmp_path / "t.yaml").read_text())
    with pytest.raises(UserError, match=r"`!function utils\.(keep|text)`: importing .*bad/utils.py failed: ValueError: alias"):
        load_task(tmp_path / "bad" / "t.yaml").resolve_functions()
