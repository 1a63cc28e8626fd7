"""lm-eval 0.4.13 task files run by `hf-replearn fewshot` and by lm-eval itself, in one process.

    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/fewshot_lmeval.py agree
    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/fewshot_lmeval.py speed
    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/fewshot_lmeval.py cli
    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/fewshot_lmeval.py packing
    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/fewshot_lmeval.py mmlu --docs 4
    OMP_NUM_THREADS=1 PYTHONPATH=. python scripts/bench/fewshot_lmeval.py filters

Installs nothing: lm-eval must be importable (``pip install lm_eval==0.4.13``; check with ``pip install
--dry-run`` that it keeps the installed torch and transformers, or use a venv made with
``--system-site-packages``).

``agree``: a letters -> label task written as lm-eval task files (multiple_choice and generate_until, each
with the ``default`` and ``first_n`` samplers; multiple_choice again with words for labels, choices of several
tokens; generate_until once more through a filter class and a metric function of the task's own utils.py and
lm-eval's ``max_new_tokens``; multiple_choice scored by ``brier_score`` and by ``likelihood`` with the task's own
aggregation; generate_until through lm-eval's registered ``format_span`` filter and the ``nanmean`` and ``median``
aggregations), a tiny GPT-2 made here (character tokenizer, 2 layers 64 wide, 1,000 seeded training steps on the
task's training lines), k = 0, 1, 5. For each run it compares the prompts, per-item predictions, the choices'
log-likelihoods and the accuracy of lm-eval's ``simple_evaluate`` (``--log-samples``) with this evaluator's.

``mmlu``: lm-eval's own MMLU suite, its files as the installed lm-eval holds them (``mmlu/default``: ``_mmlu.yaml``, a
group of four groups that each list a tag carried by their subject files, 57 subjects), run unchanged by ``hf-replearn
fewshot --task mmlu`` (found by name among lm-eval's task files) and by lm-eval's ``simple_evaluate(tasks=["mmlu"])``, with the data (``cais/mmlu``:
57 configurations, made up here, ``--docs`` test questions and 5 dev questions each) served by this project's
local hub server (``hf-replearn hub serve``) to both; a GPT-2 of 2 layers 64 wide at seeded random init with a
``bpe-gpt2`` tokenizer trained on those questions; k = 0, 1, 5. Compares every document's prompt, prediction and
log-likelihoods, every task's and group's accuracy. Then lm-eval's ``lambada_openai.yaml`` (output_type
``loglikelihood``) the same way, on made-up passages served as ``EleutherAI/lambada_openai``, and its
``wikitext.yaml`` (``loglikelihood_rolling``) on made-up pages served as ``EleutherAI/wikitext_document_level``.

``speed``: the same multiple_choice and generate_until task files on a GPT-2 of ~86M parameters made from
its config (12 layers, 768 wide, 512-token vocabulary), batch 8, one thread, k = 0 and 5 with the
``default`` sampler, and k = 5 with ``first_n`` (every prompt opens with the same demonstrations), and the words' multiple_choice at k = 0 and 5; lm-eval
and this evaluator are timed alternately in the same process (the machine is shared), best of
``--repeats``, wall clock and this process's CPU time (lm-eval's CPU time leaves out the subprocesses it
starts to log its environment). Both timings include loading the task and its data; lm-eval's task index
(it reads every YAML it ships) is built once, before the timer.

``cli``: the ``speed`` model and four of its cells through ``hf-replearn fewshot`` itself (in-process, the
``seconds`` of its ``fewshot_results.json``), deciding whether to pack against packing always; needs no lm-eval.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

BASE = """\
dataset_path: json
dataset_kwargs: {{data_files: {{train: {folder}/train.jsonl, test: {folder}/test.jsonl}}}}
training_split: train
test_split: test
fewshot_split: train
doc_to_text: "{{{{x}}}} ->"
target_delimiter: " "
fewshot_delimiter: "\\n"
"""
MC = "output_type: multiple_choice\ndoc_to_choice: [A, B, C]\ndoc_to_target: y\nmetric_list: [{metric: acc, aggregation: mean, higher_is_better: true}]\n"
# The same labels as words: choices of several tokens each, as in ARC, HellaSwag or PIQA (lm-eval shares a context
# between choices only when they differ in their last token alone, as " A", " B", " C" do).
WORDS = dict(zip("ABC", ("apple", "banana", "cherry")))
MC_WORDS = MC.replace("[A, B, C]", f"[{', '.join(WORDS.values())}]").replace("doc_to_target: y", "doc_to_target: w")
GEN = ("output_type: generate_until\ndoc_to_target: y\ngeneration_kwargs: {until: [\"\\n\"], max_gen_toks: 4, do_sample: false}\n"
       "metric_list: [{metric: exact_match, aggregation: mean, higher_is_better: true}]\n"
       "filter_list: [{name: strip, filter: [{function: remove_whitespace}, {function: take_first}]}]\n")  # fmt: skip

# generate_until again through a task's own code and lm-eval's generation_kwargs aliases: a filter class written
# against lm-eval's Filter, a metric function, max_new_tokens for max_gen_toks, a temperature that do_sample: false
# overrides, no stop string
GEN_OWN = ("output_type: generate_until\ndoc_to_target: y\n"
           "generation_kwargs: {until: [], max_new_tokens: 3, do_sample: false, temperature: 0.7}\n"
           "metric_list: [{metric: exact_match, aggregation: mean, higher_is_better: true},\n"
           "              {metric: !function utils.first_letter, aggregation: mean, higher_is_better: true}]\n"
           "filter_list: [{name: strip, filter: [{function: !function utils.StripFilter}, {function: take_first}]}]\n")  # fmt: skip
# lm-eval's other metrics and aggregations: multiple choice scored by brier_score and by likelihood with the task's
# own aggregation (as e2lmc's mmlu_early_training); generate_until through filters of lm-eval's registry (afrobench's
# format_span) and the nanmean and median aggregations (as careqa_open)
MC_SCORES = ("output_type: multiple_choice\ndoc_to_choice: [A, B, C]\ndoc_to_target: y\n"
             "metric_list: [{metric: acc}, {metric: brier_score},\n"
             "              {metric: likelihood, aggregation: !function utils.gold_margin}]\n")  # fmt: skip
GEN_REGISTRY = ("output_type: generate_until\ndoc_to_target: y\n"
                "generation_kwargs: {until: [\"\\n\"], max_gen_toks: 4, do_sample: false}\n"
                "metric_list: [{metric: exact_match, aggregation: nanmean, higher_is_better: true},\n"
                "              {metric: !function utils.first_letter, aggregation: median, higher_is_better: true}]\n"
                "filter_list: [{name: strip, filter: [{function: remove_whitespace}, {function: take_first}]},\n"
                "              {name: spans, filter: [{function: format_span}, {function: take_first}]}]\n")  # fmt: skip
# beam search, as code_x_glue's task files ask for it (num_beams: 10 there)
GEN_BEAM = GEN.replace("do_sample: false}", "do_sample: false, num_beams: 3}")
GEN_OWN_UTILS = '''from lm_eval.api.filter import Filter


class StripFilter(Filter):
    def apply(self, resps, docs):
        return [[r.strip() for r in rs] for rs in resps]


def first_letter(references, predictions):
    return float(predictions[0][:1] == references[0][:1])


def gold_margin(items):
    return sum(lls[gold] - max(lls) for gold, lls in items) / len(items)
'''


def write_tasks(folder: Path, n_train: int = 40, n_test: int = 40) -> list[str]:
    import random

    rnd = random.Random(0)
    xs = ["".join(rnd.choice("abcdefgh") for _ in range(rnd.randint(2, 6))) for _ in range(n_train + n_test)]
    rows = [{"x": x, "y": "ABC"[ord(x[0]) % 3]} for x in xs]  # the label is a function of the first letter
    for row in rows:
        row["w"] = WORDS[row["y"]]
    for split, part in (("train", rows[:n_train]), ("test", rows[n_train:])):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    (folder / "_base.yaml").write_text(BASE.format(folder=folder))
    names = []
    (folder / "utils.py").write_text(GEN_OWN_UTILS)
    for kind, body in (("letters_mc", MC), ("letters_gen", GEN), ("words_mc", MC_WORDS), ("letters_gen_own", GEN_OWN),
                       ("letters_mc_scores", MC_SCORES), ("letters_gen_registry", GEN_REGISTRY),
                       ("letters_gen_beam", GEN_BEAM)):
        for sampler in ("default", "first_n"):
            name = f"{kind}_{sampler}"
            (folder / f"{name}.yaml").write_text(
                f"include: _base.yaml\ntask: {name}\n{body}fewshot_config: {{sampler: {sampler}}}\n"
            )
            names.append(name)
    return names


def train_briefly(model, tok, folder: Path, steps: int = 300, lr: float = 3e-3):
    """A few hundred steps on sequences of training lines ``x -> y``, so that accuracies are not all chance."""
    rows = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        batch = []
        for _ in range(16):
            idx = torch.randint(len(rows), (6,), generator=gen).tolist()
            key = ("y", "w")[int(torch.randint(2, (1,), generator=gen))]  # the letters' and the words' format
            batch.append(tok("\n".join(f"{rows[i]['x']} -> {rows[i][key]}" for i in idx))["input_ids"])
        L = max(map(len, batch))
        ids = torch.tensor([b + [tok.pad_token_id] * (L - len(b)) for b in batch])
        labels = ids.masked_fill(ids == tok.pad_token_id, -100)
        loss = model(input_ids=ids, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def make_model(folder: Path, n_layer=2, n_embd=32, vocab=None):
    from transformers import GPT2Config, GPT2LMHeadModel

    from hf_replearn.data.char_tokenizer import build_char_tokenizer

    tok = build_char_tokenizer()
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=vocab or len(tok), n_positions=512, n_embd=n_embd, n_layer=n_layer,
                        n_head=max(2, n_embd // 64), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                        pad_token_id=tok.pad_token_id)  # fmt: skip
    model = GPT2LMHeadModel(config).eval()
    model.save_pretrained(folder / "model")
    tok.save_pretrained(folder / "model")
    return model, tok


def task_manager(folder: Path):
    """lm-eval's task index, built once: reading the 13k YAMLs it ships is not part of the timing."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(folder))


def run_lm_eval(lm, manager, name: str, k: int, batch_size: int):
    from lm_eval import simple_evaluate

    out = simple_evaluate(model=lm, tasks=[name], num_fewshot=k, task_manager=manager, log_samples=True,
                          batch_size=batch_size, bootstrap_iters=0, fewshot_random_seed=1234)  # fmt: skip
    return out["results"][name], sorted(out["samples"][name], key=lambda s: s["doc_id"])


def our_task(folder: Path, name: str):
    from hf_replearn.evaluation.fewshot.task import load_docs, load_task

    task = load_task(folder / f"{name}.yaml")
    return task, load_docs(task)


def run_ours(model, tok, task_docs, k: int, batch_size: int):
    from hf_replearn.evaluation.fewshot.evaluate import evaluate_items

    task, docs = task_docs
    return evaluate_items(model, tok, task, k, seed=1234, batch_size=batch_size, docs=docs)


def prediction(sample) -> str | int:
    if isinstance(sample["filtered_resps"][0], (list, tuple)):  # multiple choice: [ll, is_greedy] per choice
        lls = [r[0] for r in sample["filtered_resps"]]
        return max(range(len(lls)), key=lls.__getitem__)
    return sample["filtered_resps"][0]


def ll_gap(theirs, ours) -> float:
    """The largest difference between the two tools' log-likelihoods of one document's choices."""
    return max(abs(t[0] - o[0]) for t, o in zip(theirs["filtered_resps"], ours["filtered_resps"]))


def agree(args):
    from lm_eval.models.huggingface import HFLM

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = write_tasks(folder)
        model, tok = make_model(folder, n_embd=64)
        model = train_briefly(model, tok, folder, steps=1000)  # 300 steps of a 32-wide model: one class for all
        lm = HFLM(pretrained=model, tokenizer=tok, batch_size=args.batch_size, device="cpu")
        manager = task_manager(folder)
        print("| task | k | prompts equal | predictions equal | max abs log-likelihood difference | lm-eval | ours "
              "| every metric equal |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
        for name in [n for n in names if args.tasks is None or any(t in n for t in args.tasks.split(","))]:
            for k in (0, 1, 5):
                theirs, t_samples = run_lm_eval(lm, manager, name, k, args.batch_size)
                ours, o_samples = run_ours(model, tok, our_task(folder, name), k, args.batch_size)
                metric = "acc,none" if "mc_" in name else "exact_match,strip"
                # one pipeline's samples (lm-eval logs one per document and filter)
                t_samples, o_samples = ([s for s in x if s.get("filter", "none") == metric.split(",")[1]]
                                        for x in (t_samples, o_samples))  # fmt: skip
                keys = sorted(key for key, v in theirs.items() if "," in key and "_stderr" not in key)
                equal = sum(abs(theirs[key] - ours.get(key, float("nan"))) <= 1e-5 * max(1.0, abs(theirs[key]))
                            for key in keys)  # fmt: skip
                prompts = sum(t["arguments"][0][0] == o["arguments"][0][0] for t, o in zip(t_samples, o_samples))
                preds = sum(prediction(t) == prediction(o) for t, o in zip(t_samples, o_samples))
                n = len(t_samples)
                gap = max(map(ll_gap, t_samples, o_samples)) if "mc_" in name else None
                print(f"| {name} | {k} | {prompts}/{n} | {preds}/{n} | {'-' if gap is None else f'{gap:.1e}'} | "
                      f"{theirs[metric]:.4f} | {ours[metric]:.4f} | {equal}/{len(keys)} ({', '.join(keys)}) |",
                      flush=True)  # fmt: skip
                if "first_letter,strip" in theirs:  # the task's own metric function
                    assert theirs["first_letter,strip"] == ours["first_letter,strip"], (name, k)


def publish_mmlu(folder: Path, subjects: list[str], n_test: int, api) -> None:
    """A made-up ``cais/mmlu`` in MMLU's layout (one configuration per subject: question, subject, choices, answer)."""
    import random

    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    rnd = random.Random(0)
    words = "apple river stone cloud paper glass iron salt wind light tree bread coin wool".split()
    features = Features({"question": Value("string"), "subject": Value("string"),
                         "choices": Sequence(Value("string")), "answer": ClassLabel(names=list("ABCD"))})  # fmt: skip
    data, configs = folder / "cais_mmlu", []
    for subject in subjects:
        (data / subject).mkdir(parents=True)
        for split, n in (("test", n_test), ("dev", 5)):
            rows = [{"question": f"Which {rnd.choice(words)} goes with the {rnd.choice(words)} in {subject.replace('_', ' ')}? ",
                     "subject": subject, "choices": rnd.sample(words, 4), "answer": rnd.randrange(4)} for _ in range(n)]
            Dataset.from_list(rows, features=features).to_parquet(data / subject / f"{split}-00000-of-00001.parquet")
        configs.append(f"- config_name: {subject}\n  data_files:\n  - split: test\n    path: {subject}/test-*\n"
                       f"  - split: dev\n    path: {subject}/dev-*\n")
    (data / "README.md").write_text("---\nconfigs:\n" + "".join(configs) + "---\n")
    api.create_repo("cais/mmlu", repo_type="dataset")
    api.upload_folder(folder_path=str(data), repo_id="cais/mmlu", repo_type="dataset")


def mmlu(args):
    """lm-eval's _mmlu.yaml, unchanged, through both tools on the same served data and model."""
    import os
    import zipfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        from hf_replearn.hub.server import HubServer

        server = HubServer(folder / "hub", tokens=["bench"], port=0)
        server.start_in_thread()
        # before huggingface_hub, datasets and transformers are imported: they read these once
        os.environ.update(HF_ENDPOINT=server.url, HF_TOKEN="bench", HF_HOME=str(folder / "hf_home"), HF_HUB_OFFLINE="0",
                          HF_DATASETS_OFFLINE="0")  # fmt: skip
        import yaml
        from huggingface_hub import HfApi
        from lm_eval.models.huggingface import HFLM
        from lm_eval.tasks import TaskManager
        from transformers import GPT2Config, GPT2LMHeadModel

        from hf_replearn.cli import main as cli
        from hf_replearn.data.tokenizer_training import train_tokenizer

        wheel = next((Path(__file__).resolve().parents[2] / ".cache" / "lm_eval").glob("lm_eval-0.4.13-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.startswith("lm_eval/tasks/mmlu/default/"):
                    z.extract(name, folder / "wheel")
        tasks = folder / "wheel" / "lm_eval" / "tasks" / "mmlu" / "default"
        subjects = sorted(yaml.safe_load(f.read_text())["dataset_name"] for f in tasks.glob("mmlu_*.yaml"))
        publish_mmlu(folder, subjects, args.docs, HfApi())

        texts = [f"{s} question answer apple river stone cloud paper glass iron salt wind light tree bread coin wool"
                 for s in subjects] * 3  # fmt: skip
        tok = train_tokenizer(texts, kind="bpe-gpt2", vocab_size=400, min_frequency=1, model_max_length=2048)
        torch.manual_seed(0)
        model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=2048, n_embd=64, n_layer=2, n_head=2,
                                           bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)).eval()  # fmt: skip
        model.save_pretrained(folder / "model")
        tok.save_pretrained(folder / "model")
        lm = HFLM(pretrained=model, tokenizer=tok, batch_size=args.batch_size, device="cpu")
        manager = TaskManager()
        print("| k | documents | prompts equal | predictions equal | max abs log-likelihood difference | "
              "tasks and groups with equal accuracy | mmlu, lm-eval | mmlu, ours | seconds, lm-eval / ours |\n"
              "|---|---|---|---|---|---|---|---|---|")  # fmt: skip
        for k in (0, 1, 5):
            from lm_eval import simple_evaluate

            start = time.perf_counter()
            theirs = simple_evaluate(model=lm, tasks=["mmlu"], num_fewshot=k, task_manager=manager, log_samples=True,
                                     batch_size=args.batch_size, bootstrap_iters=100000, fewshot_random_seed=1234)  # fmt: skip
            t_lm = time.perf_counter() - start
            out = folder / f"ours_k{k}"
            start = time.perf_counter()
            # by name, as lm-eval's --tasks mmlu: found among the installed lm-eval's own task files
            assert cli(["fewshot", "--model", str(folder / "model"), "--task", "mmlu", "--shots", str(k),
                        "--log-samples", "--batch-size", str(args.batch_size), "--output-dir", str(out)]) == 0  # fmt: skip
            t_ours = time.perf_counter() - start
            ours = json.loads((out / "lm_eval" / f"k{k}" / "results.json").read_text())["results"]
            docs = prompts = preds = 0
            gap = 0.0
            for name, t_samples in theirs["samples"].items():
                t_samples = sorted(t_samples, key=lambda x: x["doc_id"])
                o_samples = [json.loads(line) for line in (out / "lm_eval" / f"k{k}" / f"samples_{name}.jsonl").read_text().splitlines()]
                o_samples = sorted(o_samples, key=lambda x: x["doc_id"])
                docs += len(t_samples)
                prompts += sum(t["arguments"][0][0] == o["arguments"][0][0] for t, o in zip(t_samples, o_samples))
                preds += sum(prediction(t) == prediction(o) for t, o in zip(t_samples, o_samples))
                gap = max(gap, *map(ll_gap, t_samples, o_samples))
            names = sorted(theirs["results"])
            equal = sum(abs(theirs["results"][n]["acc,none"] - ours[n]["acc,none"]) < 1e-12 for n in names)
            print(f"| {k} | {docs} | {prompts}/{docs} | {preds}/{docs} | {gap:.1e} | {equal}/{len(names)} | "
                  f"{theirs['results']['mmlu']['acc,none']:.4f} | {ours['mmlu']['acc,none']:.4f} | {t_lm:.1f} / {t_ours:.1f} |",
                  flush=True)  # fmt: skip
        lambada(folder, lm, manager, args, cli)
        wikitext(folder, lm, manager, args, cli)
        server.stop()


def wikitext(folder: Path, lm, manager, args, cli) -> None:
    """lm-eval's wikitext.yaml (output_type loglikelihood_rolling, its detokenizer and process_results as !function)
    on made-up pages of 2,500 to 5,000 words served as EleutherAI/wikitext_document_level: two or three windows of
    the model's 2,048 positions each."""
    import random
    import zipfile

    from datasets import Dataset
    from huggingface_hub import HfApi
    from lm_eval import simple_evaluate

    rnd = random.Random(2)
    words = "apple river stone cloud paper glass iron salt wind light tree bread coin wool @-@ , . = =".split()
    data = folder / "wikitext_data"
    config = "wikitext-2-raw-v1"
    (data / config).mkdir(parents=True)
    for split, n in (("train", 2), ("validation", 2), ("test", max(3, args.docs // 4))):
        rows = [{"page": " ".join(rnd.choice(words) for _ in range(rnd.randrange(2500, 5000))) + " \n"} for _ in range(n)]
        Dataset.from_list(rows).to_parquet(data / config / f"{split}-00000-of-00001.parquet")
    files = "".join(f"  - split: {s}\n    path: {config}/{s}-*\n" for s in ("train", "validation", "test"))
    (data / "README.md").write_text(f"---\nconfigs:\n- config_name: {config}\n  data_files:\n{files}---\n")
    HfApi().create_repo("EleutherAI/wikitext_document_level", repo_type="dataset")
    HfApi().upload_folder(folder_path=str(data), repo_id="EleutherAI/wikitext_document_level", repo_type="dataset")
    wheel = next((Path(__file__).resolve().parents[2] / ".cache" / "lm_eval").glob("lm_eval-0.4.13-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        for name in ("wikitext.yaml", "preprocess_wikitext.py"):
            z.extract(f"lm_eval/tasks/wikitext/{name}", folder / "wheel")
    theirs = simple_evaluate(model=lm, tasks=["wikitext"], num_fewshot=0, task_manager=manager, log_samples=True,
                             batch_size=args.batch_size, bootstrap_iters=0)  # fmt: skip
    out = folder / "wikitext"
    assert cli(["fewshot", "--model", str(folder / "model"), "--task", str(folder / "wheel" / "lm_eval" / "tasks" / "wikitext"
                / "wikitext.yaml"), "--shots", "0", "--log-samples", "--batch-size", str(args.batch_size),
                "--output-dir", str(out)]) == 0  # fmt: skip
    t_samples = sorted(theirs["samples"]["wikitext"], key=lambda x: x["doc_id"])
    o_samples = sorted((json.loads(line) for line in (out / "lm_eval" / "k0" / "samples_wikitext.jsonl").read_text()
                        .splitlines()), key=lambda x: x["doc_id"])  # fmt: skip
    gap = max(abs(float(t["filtered_resps"][0]) - o["filtered_resps"][0]) / abs(o["filtered_resps"][0])
              for t, o in zip(t_samples, o_samples))  # fmt: skip
    ours = json.loads((out / "lm_eval" / "k0" / "results.json").read_text())["results"]["wikitext"]
    r = theirs["results"]["wikitext"]
    print("\n| wikitext (k = 0) | documents | max relative difference of a document's log-likelihood | word perplexity, "
          "lm-eval / ours | byte perplexity | bits per byte |\n|---|---|---|---|---|---|")  # fmt: skip
    print(f"| | {len(t_samples)} | {gap:.1e} | {r['word_perplexity,none']:.3f} / {ours['word_perplexity,none']:.3f} | "
          f"{r['byte_perplexity,none']:.4f} / {ours['byte_perplexity,none']:.4f} | "
          f"{r['bits_per_byte,none']:.4f} / {ours['bits_per_byte,none']:.4f} |", flush=True)  # fmt: skip


def lambada(folder: Path, lm, manager, args, cli) -> None:
    """lm-eval's lambada_openai.yaml (output_type loglikelihood) on made-up passages served as EleutherAI/lambada_openai."""
    import random
    import zipfile

    from datasets import Dataset
    from huggingface_hub import HfApi
    from lm_eval import simple_evaluate

    rnd = random.Random(1)
    words = "apple river stone cloud paper glass iron salt wind light tree bread coin wool".split()
    data = folder / "lambada_data"
    (data / "default").mkdir(parents=True)
    rows = [{"text": " ".join(rnd.choice(words) for _ in range(rnd.randrange(8, 30)))} for _ in range(args.docs * 5)]
    Dataset.from_list(rows).to_parquet(data / "default" / "test-00000-of-00001.parquet")
    (data / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n"
                                    "    path: default/test-*\n---\n")  # fmt: skip
    HfApi().create_repo("EleutherAI/lambada_openai", repo_type="dataset")
    HfApi().upload_folder(folder_path=str(data), repo_id="EleutherAI/lambada_openai", repo_type="dataset")
    wheel = next((Path(__file__).resolve().parents[2] / ".cache" / "lm_eval").glob("lm_eval-0.4.13-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extract("lm_eval/tasks/lambada/lambada_openai.yaml", folder / "wheel")
    task = folder / "wheel" / "lm_eval" / "tasks" / "lambada" / "lambada_openai.yaml"
    print("\n| lambada_openai, k | documents | prompts and targets equal | greedy equal | max abs log-likelihood difference "
          "| perplexity, lm-eval | perplexity, ours | acc, lm-eval / ours |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    for k in (0, 1, 5):
        theirs = simple_evaluate(model=lm, tasks=["lambada_openai"], num_fewshot=k, task_manager=manager,
                                 log_samples=True, batch_size=args.batch_size, bootstrap_iters=0,
                                 fewshot_random_seed=1234)  # fmt: skip
        out = folder / f"lambada_k{k}"
        assert cli(["fewshot", "--model", str(folder / "model"), "--task", str(task), "--shots", str(k), "--log-samples",
                    "--batch-size", str(args.batch_size), "--output-dir", str(out)]) == 0  # fmt: skip
        t_samples = sorted(theirs["samples"]["lambada_openai"], key=lambda x: x["doc_id"])
        o_samples = sorted((json.loads(line) for line in (out / "lm_eval" / f"k{k}" / "samples_lambada_openai.jsonl")
                            .read_text().splitlines()), key=lambda x: x["doc_id"])  # fmt: skip
        same = sum(t["arguments"][0] == tuple(o["arguments"][0]) or list(t["arguments"][0]) == o["arguments"][0]
                   for t, o in zip(t_samples, o_samples))  # fmt: skip
        greedy = sum(bool(t["filtered_resps"][0][1]) == bool(o["filtered_resps"][0][1]) for t, o in zip(t_samples, o_samples))
        gap = max(abs(t["filtered_resps"][0][0] - o["filtered_resps"][0][0]) for t, o in zip(t_samples, o_samples))
        ours = json.loads((out / "lm_eval" / f"k{k}" / "results.json").read_text())["results"]["lambada_openai"]
        r = theirs["results"]["lambada_openai"]
        n = len(t_samples)
        print(f"| {k} | {n} | {same}/{n} | {greedy}/{n} | {gap:.1e} | {r['perplexity,none']:.3f} | "
              f"{ours['perplexity,none']:.3f} | {r['acc,none']:.4f} / {ours['acc,none']:.4f} |", flush=True)  # fmt: skip


def filters(args):
    """lm-eval's MultiChoiceRegexFilter against this evaluator's multi_choice_regex on random responses."""
    import random

    from lm_eval.filters.extraction import MultiChoiceRegexFilter

    from hf_replearn.evaluation.fewshot.filters import apply_filters

    rnd = random.Random(0)
    words = ["Paris", "paris", "France", "London", "Rome", "Guilty", "Guilty of Romance", "(A)", "(B)", "(C)", "(D)",
             "A", "B", ":", ": ", "Answer:", "answer is", ",", ".", "!", "um", "  ", "\n", "(x)", "42", "É", "café"]
    pool = ["London", "Paris", "Paris, France", "Rome", "Guilty", "Guilty of Romance", "café", "42", "(x) odd", "a.b"]
    patterns = [r"(\([A-Z]\))", r"answer is \(([A-D])\)", r"#### (\-?[0-9\.\,]+)",
                r"((?<=answer is )(.*)(?=.)|(?<=Answer: )(.*)(?=.))"]  # fmt: skip
    cases = differ = 0
    for _ in range(args.docs * 100):
        opts = dict(regex_pattern=rnd.choice(patterns), group_select=rnd.choice([0, -1]),
                    fallback=rnd.choice(["[invalid]", "X"]), ignore_case=rnd.random() < 0.5,
                    ignore_punctuation=rnd.random() < 0.5, regexes_to_ignore=rnd.choice([None, ["um "], [",", "\\$"]]))
        docs = [{"choices": rnd.sample(pool, rnd.choice([2, 3, 4, 5]))} for _ in range(3)]
        resps = [[" ".join(rnd.choice(words) for _ in range(rnd.randrange(0, 8)))] for _ in docs]
        theirs = MultiChoiceRegexFilter(**opts).apply(resps, docs)
        step = {"function": "multi_choice_regex", **{k: v for k, v in opts.items() if v is not None}}
        ours = apply_filters([{"name": "f", "filter": [step]}], resps, docs)["f"]
        cases += len(docs)
        differ += sum(t != o for t, o in zip(theirs, ours))
    print(f"multi_choice_regex: {cases} random responses, {differ} differ from lm-eval's MultiChoiceRegexFilter")


def speed(args):
    from lm_eval.models.huggingface import HFLM

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_tasks(folder, n_train=40, n_test=args.docs)
        model, tok = make_model(folder, n_layer=12, n_embd=768, vocab=512)
        print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, batch {args.batch_size}, "
              f"{args.docs} documents, {torch.get_num_threads()} thread")  # fmt: skip
        lm = HFLM(pretrained=model, tokenizer=tok, batch_size=args.batch_size, device="cpu")
        manager = task_manager(folder)
        print("| task | k | lm-eval ex/s | ours ex/s | ratio | CPU-time ratio | same predictions |\n"
              "|---|---|---|---|---|---|---|")  # fmt: skip
        cells = [("letters_mc_default", 0), ("letters_mc_default", 5), ("letters_gen_default", 0),
                 ("letters_gen_default", 5), ("letters_mc_first_n", 5), ("letters_gen_first_n", 5),
                 ("words_mc_default", 0), ("words_mc_default", 5)]  # fmt: skip
        if args.tasks:
            cells = [(name, int(k)) for name, k in (cell.rsplit(":", 1) for cell in args.tasks.split(","))]
        for name, k in cells:
            wall = {"lm-eval": float("inf"), "ours": float("inf")}
            cpu = dict(wall)
            for _ in range(args.repeats):  # alternated, so both see the same load on a shared machine
                for who in ("lm-eval", "ours"):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    if who == "lm-eval":
                        _, t_samples = run_lm_eval(lm, manager, name, k, args.batch_size)
                    else:
                        _, o_samples = run_ours(model, tok, our_task(folder, name), k, args.batch_size)
                    wall[who] = min(wall[who], time.perf_counter() - start)
                    cpu[who] = min(cpu[who], time.process_time() - start_cpu)
            same = sum(prediction(t) == prediction(o) for t, o in zip(t_samples, o_samples))
            rate = {key: args.docs / v for key, v in wall.items()}
            print(f"| {name} | {k} | {rate['lm-eval']:.2f} | {rate['ours']:.2f} | "
                  f"{rate['ours'] / rate['lm-eval']:.2f}x | {cpu['lm-eval'] / cpu['ours']:.2f}x | {same}/{args.docs} |",
                  flush=True)


def cli(args):
    """`hf-replearn fewshot` itself, in-process, on the speed bench's model and cells: the command deciding whether
    to pack (one decision for all its runs) against the same command packing always (what it did before)."""
    from hf_replearn.evaluation import fast_inference as F
    from hf_replearn.evaluation.fewshot.cli import main as fewshot_main

    torch.set_num_threads(1)
    decide = F._packing_pays
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_tasks(folder, n_train=40, n_test=args.docs)
        make_model(folder, n_layer=12, n_embd=768, vocab=512)
        print("| task | k | always packing (s) | deciding (s) | same results |\n|---|---|---|---|---|")
        for name, k in [("letters_mc_default", 0), ("letters_mc_default", 5), ("letters_gen_default", 0),
                        ("letters_gen_default", 5)]:  # fmt: skip
            best, results = {}, {}
            for repeat in range(args.repeats):  # alternated, so both see the same load
                for mode in ("always", "decides"):
                    F._packing_pays = decide if mode == "decides" else (lambda layers, workload: True)
                    out = folder / f"{name}_{k}_{repeat}_{mode}"
                    argv = ["fewshot", "--model", str(folder / "model"), "--task", str(folder / f"{name}.yaml"),
                            "--shots", str(k), "--batch-size", str(args.batch_size), "--output-dir", str(out),
                            "--device", "cpu"]  # fmt: skip
                    with contextlib.redirect_stdout(io.StringIO()):
                        assert fewshot_main(argv) == 0
                    report = json.loads((out / "fewshot_results.json").read_text())
                    best[mode] = min(best.get(mode, float("inf")), report["seconds"])
                    results[mode] = report["results"]
            F._packing_pays = decide
            print(f"| {name} | {k} | {best['always']:.2f} | {best['decides']:.2f} | "
                  f"{results['always'] == results['decides']} |", flush=True)


def packing(args):
    """Our evaluation alone on the speed model's default-sampler cells, its packing decision against never and
    always packing: the bound it chose (``fast_inference._packed_rows``), seconds per cell, best of ``--repeats``,
    the three alternated."""
    import math

    import hf_replearn.evaluation.fast_inference as F

    torch.set_num_threads(1)
    decide = F._packed_rows
    chosen = []
    modes = {"deciding": lambda layers, workload: chosen.append(decide(layers, workload)) or chosen[-1],
             "never": lambda layers, workload: None, "always": lambda layers, workload: math.inf}  # fmt: skip
    print("| task | k | packed up to (rows) | deciding (s) | never packing (s) | always packing (s) |\n|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_tasks(folder, n_train=40, n_test=args.docs)
        model, tok = make_model(folder, n_layer=12, n_embd=768, vocab=512)
        try:
            for name, k in [("letters_mc_default", 0), ("letters_mc_default", 5), ("letters_gen_default", 0),
                            ("letters_gen_default", 5)]:  # fmt: skip
                best = dict.fromkeys(modes, math.inf)
                for _ in range(args.repeats):
                    for mode, choice in modes.items():
                        F._packed_rows = choice
                        start = time.perf_counter()
                        run_ours(model, tok, our_task(folder, name), k, args.batch_size)
                        best[mode] = min(best[mode], time.perf_counter() - start)
                print(f"| {name} | {k} | {chosen[-1]} | " + " | ".join(f"{best[m]:.2f}" for m in modes) + " |", flush=True)
        finally:
            F._packed_rows = decide


def profile(args):
    """Where our time goes on the speed model (letters_mc_default, k = 5): CPU seconds of the linear layers,
    the GELU and attention under cProfile, without and with ``fast_inference``."""
    import cProfile
    import contextlib
    import pstats

    import hf_replearn.evaluation.fewshot.evaluate as E

    torch.set_num_threads(1)
    packed = E.fast_inference
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_tasks(folder, n_train=40, n_test=args.docs)
        model, tok = make_model(folder, n_layer=12, n_embd=768, vocab=512)
        task_docs = our_task(folder, "letters_mc_default")
        ops = ("addmm", "_linear_pointwise", "_reorder_linear_weight", "tanh", "gelu", "scaled_dot_product_attention")
        for mode in ("plain", "packed"):
            E.fast_inference = packed if mode == "packed" else (lambda m: contextlib.nullcontext(m))
            run_ours(model, tok, task_docs, 5, args.batch_size)  # warm-up
            prof = cProfile.Profile()
            start = time.process_time()
            prof.runcall(run_ours, model, tok, task_docs, 5, args.batch_size)
            total = time.process_time() - start
            stats = pstats.Stats(prof).stats
            builtin = {k[2][len("<built-in method "):-1].rsplit(".", 1)[-1]: v[2] for k, v in stats.items()
                       if k[2].startswith("<built-in method ")}  # fmt: skip
            seconds = {op: builtin.get(op, 0.0) for op in ops}
            shown = ", ".join(f"{op} {t:.2f} s" for op, t in seconds.items() if t > 0)
            print(f"{mode}: {total:.2f} s CPU in all; {shown}", flush=True)
    E.fast_inference = packed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["agree", "speed", "cli", "packing", "profile", "mmlu", "filters"])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--docs", type=int, default=40)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--tasks", help="agree: only the task files whose names hold one of these comma-separated parts; "
                                   "speed: only these comma-separated cells, each TASK:K (letters_gen_default:5)")
    args = p.parse_args()
    import logging

    logging.disable(logging.WARNING)
    modes = {"agree": agree, "speed": speed, "cli": cli, "packing": packing, "profile": profile, "mmlu": mmlu, "filters": filters}
    modes[args.mode](args)


if __name__ == "__main__":
    main()
