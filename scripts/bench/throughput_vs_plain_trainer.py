"""Training throughput of recipes/glue.yaml and recipes/squad.yaml against plain Trainer pipelines written the
way transformers' examples/pytorch/text-classification/run_glue.py and question-answering/run_qa.py do it
(same model, data, batch and steps).

run_glue.py and run_qa.py pad every example / window to max_seq_length (their default
``pad_to_max_length=True``) and use ``default_data_collator``; the recipes pad each batch to its longest
example (``DataCollatorWithPadding``).

    nice -n 10 python scripts/bench/throughput_vs_plain_trainer.py --steps 20 --max-length 128 [--qa]

Prints samples/s of both and their ratio (recipe / plain; the target is >= 1.0). The registered benchmark
``finetune_throughput`` (scripts/bench/bench_finetune.py) runs both and writes BENCHMARKS.md.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]


def _plain_train(model, train, steps, batch, out):
    from transformers import Trainer, TrainingArguments, default_data_collator

    args = TrainingArguments(output_dir=out, max_steps=steps, per_device_train_batch_size=batch, learning_rate=5e-5,
                             report_to="none", save_strategy="no", seed=42, disable_tqdm=True)  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=default_data_collator)
    return trainer.train().metrics["train_samples_per_second"]


def plain_trainer(steps, batch, max_length, out):
    """run_glue.py: tokenise with padding to max_seq_length, default_data_collator, Trainer."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    from hf_replearn.data.embedded_text import load_embedded
    from hf_replearn.models.pretrained import shipped_minilm_path

    set_seed(42)
    path = shipped_minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    raw = load_embedded("polarity")["train"]
    train = raw.map(lambda b: tokenizer(b["sentence"], padding="max_length", max_length=max_length, truncation=True),
                    batched=True, remove_columns=["sentence"])  # fmt: skip
    return _plain_train(model, train, steps, batch, out)


def plain_qa_trainer(steps, batch, max_length, doc_stride, out):
    """run_qa.py: overflowing windows padded to max_seq_length, start/end token labels, default_data_collator."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, set_seed

    from hf_replearn.data.embedded_qa import load_wordnet_qa
    from hf_replearn.models.pretrained import shipped_minilm_path

    set_seed(42)
    path = shipped_minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForQuestionAnswering.from_pretrained(path)
    raw = load_wordnet_qa(False)["train"]

    def prepare(examples):
        enc = tokenizer([q.lstrip() for q in examples["question"]], examples["context"], truncation="only_second",
                        max_length=max_length, stride=doc_stride, return_overflowing_tokens=True,
                        return_offsets_mapping=True, padding="max_length")  # fmt: skip
        sample_map = enc.pop("overflow_to_sample_mapping")
        starts, ends = [], []
        for i, offsets in enumerate(enc.pop("offset_mapping")):
            cls = enc["input_ids"][i].index(tokenizer.cls_token_id)
            answer = examples["answers"][sample_map[i]]
            lo = answer["answer_start"][0]
            hi = lo + len(answer["text"][0])
            seq = enc.sequence_ids(i)
            first = seq.index(1)
            last = len(seq) - 1 - seq[::-1].index(1)
            if not (offsets[first][0] <= lo and offsets[last][1] >= hi):
                starts.append(cls)
                ends.append(cls)
                continue
            while first <= last and offsets[first][0] <= lo:
                first += 1
            while offsets[last][1] >= hi:
                last -= 1
            starts.append(first - 1)
            ends.append(last + 1)
        enc["start_positions"], enc["end_positions"] = starts, ends
        return enc

    train = raw.select(range(min(len(raw), steps * batch * 2))).map(prepare, batched=True, remove_columns=raw.column_names)
    return _plain_train(model, train, steps, batch, out)


def recipe_pipeline(steps, batch, max_length, out):
    from hf_replearn.tasks import load_recipe, run_recipe

    recipe = load_recipe(ROOT / "recipes" / "glue.yaml", [f"output_dir={out}", f"max_steps={steps}",
                         f"per_device_train_batch_size={batch}", f"data.max_length={max_length}",
                         "data.eval_limit=32", "save_strategy='no'", "disable_tqdm=true"])  # fmt: skip
    return run_recipe(recipe)["train/samples_per_second"]


def recipe_qa_pipeline(steps, batch, max_length, doc_stride, out):
    from hf_replearn.tasks import load_recipe, run_recipe

    recipe = load_recipe(ROOT / "recipes" / "squad.yaml", [f"output_dir={out}", f"max_steps={steps}",
                         f"per_device_train_batch_size={batch}", f"data.max_length={max_length}",
                         f"data.doc_stride={doc_stride}", f"dataset_limit={steps * batch * 2}",
                         "data.eval_limit=16", "save_strategy='no'", "disable_tqdm=true"])  # fmt: skip
    return run_recipe(recipe)["train/samples_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--doc-stride", type=int, default=32)
    parser.add_argument("--qa", action="store_true", help="run_qa.py-style against recipes/squad.yaml")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.qa:
            plain = plain_qa_trainer(a.steps, a.batch, a.max_length, a.doc_stride, f"{tmp}/plain")
            ours = recipe_qa_pipeline(a.steps, a.batch, a.max_length, a.doc_stride, f"{tmp}/recipe")
        else:
            plain = plain_trainer(a.steps, a.batch, a.max_length, f"{tmp}/plain")
            ours = recipe_pipeline(a.steps, a.batch, a.max_length, f"{tmp}/recipe")
    print(f"plain Trainer ({'run_qa' if a.qa else 'run_glue'}.py style): {plain:.2f} samples/s")
    print(f"recipes/{'squad' if a.qa else 'glue'}.yaml: {ours:.2f} samples/s")
    print(f"ratio recipe / plain: {ours / plain:.2f}")


if __name__ == "__main__":
    main()
