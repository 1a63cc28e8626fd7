import pytest

from hf_replearn.errors import UserError
from hf_replearn.evaluation.fewshot.prompts import build_prompts, sample_shots
from hf_replearn.evaluation.fewshot.task import load_docs, load_task


def test_sampling_is_seeded_per_document():
    assert sample_shots(50, 4, seed=1, doc_index=7) == sample_shots(50, 4, seed=1, doc_index=7)
    assert sample_shots(50, 4, seed=1, doc_index=7) != sample_shots(50, 4, seed=2, doc_index=7)
    assert sample_shots(50, 4, seed=1, doc_index=7) != sample_shots(50, 4, seed=1, doc_index=8)
    assert len(set(sample_shots(50, 10, seed=0, doc_index=0))) == 10  # without replacement


def test_sampling_never_includes_the_test_document():
    # with k = pool - 1 every other document is drawn, so a leak would show at once
    for seed in range(20):
        for i in range(6):
            shots = sample_shots(6, 5, seed, i, exclude=i)
            assert i not in shots and sorted(shots) == sorted(set(range(6)) - {i})


def test_k_larger_than_the_fewshot_split_is_an_error():
    with pytest.raises(UserError, match="k=6 demonstrations asked, but the few-shot split holds only 5"):
        sample_shots(6, 6, seed=0, doc_index=0, exclude=0)


def test_prompt_is_assembled_like_lm_eval(tmp_path, write_task):
    task = load_task(write_task(tmp_path, description="Map:\n"))
    test, shots = load_docs(task)
    (p,) = build_prompts(task, test[:1], shots, k=2, seed=0)
    a, b = (shots[j] for j in p.shot_indices)
    assert p.context == f"Map:\n{a['input']} -> {a['label']}\n{b['input']} -> {b['label']}\n{test[0]['input']} ->"
    assert build_prompts(task, test[:1], shots, k=0, seed=0)[0].context == f"Map:\n{test[0]['input']} ->"


def test_same_split_excludes_the_document_itself(tmp_path, write_task):
    task = load_task(write_task(tmp_path, fewshot_split="test"))
    test, shots = load_docs(task)
    for seed in range(5):
        for p in build_prompts(task, test, shots, k=len(test) - 1, seed=seed):
            assert p.doc_index not in p.shot_indices


def test_demonstrations_from_a_task_function_as_lm_evals_leaderboard_math(tmp_path, write_task):
    """`fewshot_config.samples: !function utils.list_fewshot_samples` (lm-eval's leaderboard and minerva math): the
    function's documents are the demonstrations, in order with first_n."""
    import yaml

    write_task(tmp_path)
    (tmp_path / "utils.py").write_text(
        "def shots():\n    return [{'input': 'zz', 'label': 'B'}, {'input': 'yy', 'label': 'A'}]\n\n"
        "def broken():\n    raise KeyError('problem')\n"
    )
    raw = {k: v for k, v in yaml.safe_load((tmp_path / "tiny.yaml").read_text()).items() if k != "fewshot_config"}
    for name, fn in (("fn", "shots"), ("bad", "broken")):
        (tmp_path / f"{name}.yaml").write_text(
            yaml.safe_dump(raw) + f"fewshot_config: {{sampler: first_n, samples: !function utils.{fn}}}\n"
        )
    task = load_task(tmp_path / "fn.yaml")
    test, shots = load_docs(task)
    assert shots == [{"input": "zz", "label": "B"}, {"input": "yy", "label": "A"}]
    (prompt, *_) = build_prompts(task, test, shots, k=2, seed=0)
    assert prompt.context.startswith("zz -> B\nyy -> A\n")
    with pytest.raises(UserError, match=r"fewshot_config.samples \(!function utils.broken\) failed: KeyError: 'problem'"):
        load_docs(load_task(tmp_path / "bad.yaml"))
