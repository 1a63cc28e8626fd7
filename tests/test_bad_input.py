"""One table of bad inputs across every entry point: each exits 2 with a message that names the key, file
or row and the fix, prints no traceback, and leaves the output directory (and any earlier run in it)
byte-identical. Every row fails before any data, model or output directory is touched, so the table is fast.

Placeholders in a row's arguments: ``{tmp}`` a scratch folder, ``{out}`` an output directory that does
not exist yet, ``{run}`` an output directory holding a fake earlier run, ``{fake_model}`` a folder with a
GPT-2's ``config.json`` (``{fake_vit}``: a ViT's), ``{empty}`` an empty folder, ``{file}`` a plain file, ``{R}`` the shipped recipes folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hf_replearn.cli import main

R = Path(__file__).resolve().parent.parent / "recipes"
FEWSHOT_TASK = "{R}/fewshot/incontext_binary.yaml"


def T(recipe: str, *overrides: str) -> list[str]:
    """``hf-replearn train`` of a shipped recipe into ``{out}``."""
    return ["train", f"{{R}}/{recipe}.yaml", "output_dir={out}", *overrides]


# (row id, CLI arguments, substrings the message must hold: the key / file / row, and the fix)
ROWS = [
    # -- train: TrainingArguments values, range-checked and built before anything else
    ("lr-negative", T("quickstart", "learning_rate=-0.1"), ["training.learning_rate=-0.1", "> 0", "command-line override `learning_rate=-0.1`"]),
    ("lr-zero", T("autoencoder_fashion_mnist", "learning_rate=0"), ["training.learning_rate=0", "> 0"]),
    ("lr-not-a-number", T("quickstart", "learning_rate=abc"), ["training.learning_rate", "must be float"]),
    ("batch-zero", T("quickstart", "per_device_train_batch_size=0"), ["per_device_train_batch_size=0", ">= 1"]),
    ("eval-batch-zero", T("context_fashion_mnist", "per_device_eval_batch_size=0"), ["per_device_eval_batch_size=0", ">= 1"]),
    ("batch-negative-squad_v2", T("squad_v2", "per_device_train_batch_size=-3"), ["per_device_train_batch_size=-3", ">= 1"]),
    ("epochs-negative", T("quickstart", "num_train_epochs=-1"), ["num_train_epochs=-1", ">= 0"]),
    ("epochs-negative-clm_incontext", T("clm_incontext", "num_train_epochs=-2"), ["num_train_epochs=-2", ">= 0"]),
    ("fewshot-task-missing-clm_incontext", T("clm_incontext", "fewshot.tasks=[{tmp}/nothere.yaml]"),
     ["clm_incontext.yaml: fewshot.tasks: task file {tmp}/nothere.yaml does not exist"]),
    ("max-steps-negative", T("quickstart", "max_steps=-5"), ["max_steps=-5", "-1 (the default)"]),
    ("warmup-longer-than-run", T("quickstart", "max_steps=5", "warmup_steps=10"), ["warmup_steps", "longer than the run", "at most 5"]),
    ("warmup-longer-than-run-file", ["train", "{tmp}/long_warmup.yaml"], ["long_warmup.yaml, line 5", "warmup_steps=50", "at most 10"]),
    ("warmup-negative-clm", T("clm_gpt2", "warmup_steps=-1"), ["warmup_steps=-1", ">= 0"]),
    ("label-smoothing-above-1", T("quickstart", "label_smoothing_factor=1.5"), ["label_smoothing_factor=1.5", "<= 1"]),
    ("weight-decay-negative", T("quickstart", "weight_decay=-1"), ["weight_decay=-1", ">= 0"]),
    ("adam-beta-above-1", T("quickstart", "adam_beta1=2"), ["adam_beta1=2", "<= 1"]),
    ("grad-accum-zero", T("quickstart", "gradient_accumulation_steps=0"), ["gradient_accumulation_steps=0", ">= 1"]),
    ("logging-steps-zero", T("quickstart", "logging_steps=0"), ["logging_steps=0", "> 0"]),
    ("strategy-typo", T("quickstart", "eval_strategy=stepz"), ["training.eval_strategy", "'no', 'steps', 'epoch'"]),
    ("lr-negative-cpc", T("cpc_speech", "learning_rate=-1"), ["training.learning_rate=-1", "> 0"]),
    ("seed-not-int", T("quickstart", "seed=abc"), ["`seed` must be int"]),
    ("dataset-limit-zero", T("quickstart", "dataset_limit=0"), ["dataset_limit=0", ">= 1"]),
    ("save-at-minutes-negative", T("quickstart", "save_at_minutes=[5,-1]"), ["save_at_minutes[1]=-1", "> 0", "save_at_minutes=[5,10,20,30]"]),
    ("minutes-clock-typo", T("quickstart", "minutes_clock=gpu"), ["minutes_clock='gpu'", "'wall'", "'cpu'"]),
    ("channels-last-rotation", T("rotation_fashion_mnist", "channels_last=true"), ["channels_last=true", "simclr, moco and vicreg", "rotation"]),
    ("view-size-finetune", T("finetune_images", "augment.view_size=8"), ["augment.view_size=8", "simclr, moco and vicreg", "finetune_images"]),
    ("multicrop-scale", T("quickstart", "multicrop.local_crops=2", "multicrop.scale=[0.5,0.2]"), ["multicrop.scale", "0 < low <= high <= 1"]),
    ("contrastive-loss-typo", T("quickstart", "model.contrastive_loss=dlc"), ["contrastive_loss must be one of", "'dcl'", "'dlc'"]),
    ("nnclr-support-size", T("quickstart", "model.contrastive_loss=nnclr", "model.support_set_size=100"), ["model.support_set_size=100", "not a multiple of the global batch size", "set model.support_set_size to a multiple"]),
    ("nnclr-multicrop", T("quickstart", "model.contrastive_loss=nnclr", "multicrop.local_crops=2"), ["model.contrastive_loss=nnclr", "no multi-crop form"]),
    ("dcl-multicrop", T("quickstart", "model.contrastive_loss=dcl", "multicrop.local_crops=2"), ["model.contrastive_loss=dcl", "no multi-crop form", "multicrop.local_crops=0"]),
    # -- train: keys, with did-you-mean and where the key came from
    ("bare-key-typo", T("quickstart", "max_step=5"), ["`max_step`", "did you mean `max_steps=5`", "command-line override"]),
    ("bare-key-typo-simclr", T("simclr_fashion_mnist", "learnin_rate=0.1"), ["did you mean `learning_rate=0.1`"]),
    ("nested-key-typo", T("quickstart", "model.widht=3"), ["`model.widht`", "did you mean `model.widths`", "command-line override"]),
    ("nested-key-typo-inpainting", T("inpainting_fashion_mnist", "model.widht=3"), ["did you mean `model.widths`"]),
    ("training-key-typo", T("quickstart", "training.max_step=4"), ["did you mean `training.max_steps`"]),
    ("list-item-type", T("quickstart", "model.widths=[a]"), ["`model.widths[0]` must be int"]),
    ("not-key-value", T("quickstart", "max_steps"), ["not of the form key=value"]),
    ("value-under-section", T("quickstart", "seed.x=1"), ["`seed` is a value, not a section"]),
    ("task-typo", T("quickstart", "task=simclrr"), ["unknown task `simclrr`", "did you mean `simclr`"]),
    ("file-key-typo-line", ["train", "{tmp}/typo.yaml"], ["typo.yaml, line 3", "`model.widht`", "did you mean `model.widths`"]),
    ("file-training-typo-line", ["train", "{tmp}/training_typo.yaml"], ["training_typo.yaml, line 5", "did you mean `training.max_steps`"]),
    ("file-lr-negative-line", ["train", "{tmp}/negative_lr.yaml"], ["negative_lr.yaml, line 4", "training.learning_rate=-1", "> 0"]),
    ("recipe-missing", ["train", "{tmp}/nope.yaml"], ["nope.yaml does not exist", "recipes/*.yaml"]),
    ("recipe-bad-yaml", ["train", "{tmp}/broken.yaml"], ["broken.yaml is not valid YAML", "line 3"]),
    ("recipe-no-task", ["train", "{tmp}/no_task.yaml"], ["no `task` key", "task: simclr"]),
    # -- train: paths and hub names, one for every recipe family
    ("data-name-typo", T("quickstart", "data.name=digitz"), ["data.name=digitz", "hub is unreachable", "did you mean `digits`"]),
    ("data-name-typo-rotation", T("rotation_fashion_mnist", "data.name=fashion_mnst"), ["did you mean `fashion_mnist`"]),
    ("data-name-typo-beta_vae", T("beta_vae_sprites", "data.name=sprits"), ["did you mean `sprites`"]),
    ("data-name-typo-colorization", T("colorization_emoji", "data.name=emjoi"), ["did you mean `emoji`"]),
    ("data-folder-missing", T("quickstart", "data.name=/no/such/folder"), ["data.name=/no/such/folder", "this folder does not exist"]),
    ("image-size-zero", T("quickstart", "data.image_size=0"), ["data.image_size=0", ">= 1"]),
    ("init-from-missing-moco", T("moco_fashion_mnist", "model.init_from={tmp}/missing"), ["model.init_from=", "this folder does not exist"]),
    ("init-from-not-a-run", T("quickstart", "model.init_from={empty}"), ["model.init_from=", "no config.json and model.safetensors"]),
    ("corpus-typo-mlm", T("mlm_bert", "data.corpus=kjv-bibel"), ["data.corpus=kjv-bibel", "did you mean `kjv-bible`"]),
    ("corpus-file-missing-word2vec", T("word2vec", "data.corpus={tmp}/missing.txt"), ["missing.txt", "this file does not exist"]),
    ("tokenizer-path-missing-roberta", T("mlm_roberta", "tokenizer.path={tmp}/missing"), ["tokenizer.path=", "this folder does not exist"]),
    ("model-path-not-a-model-clm", T("clm_gpt2", "model.path={empty}"), ["model.path=", "no config.json"]),
    ("model-name-typo-glue", T("glue", "model.name_or_path=bert-base-uncasd"), ["model.name_or_path=bert-base-uncasd", "not a local folder", "hub is unreachable"]),
    ("model-folder-missing-glue_lora", T("glue_lora", "model.name_or_path={tmp}/no/model"), ["model.name_or_path=", "this folder does not exist"]),
    ("model-folder-no-config-squad", T("squad", "model.name_or_path={empty}"), ["model.name_or_path=", "no config.json"]),
    ("glue-task-typo", T("glue", "data.task=sst"), ["`sst` is not a GLUE task", "did you mean `sst2`"]),
    ("glue-hub-task-offline", T("glue", "data.task=sst2"), ["data.task=sst2", "unreachable", "data.data_dir"]),
    ("glue-data-dir-missing", T("glue", "data.data_dir={tmp}/glue"), ["data.data_dir=", "this folder does not exist"]),
    ("image-backbone-missing", T("simclr_fashion_mnist", "model.backbone={tmp}/no/vit"), ["model.backbone=", "this folder does not exist"]),
    ("image-backbone-offline", T("finetune_images", "model.backbone=google/vit-base-patch16-224"),
     ["model.backbone=google/vit-base-patch16-224 is not a local folder", "hub is unreachable"]),
    # -- glue with the user's own files: columns and labels checked before the model loads
    ("own-files-none", T("glue", "data.task=text_classification"), ["data.task=text_classification", "data.data_files={{train: reviews.csv}}"]),
    ("own-files-label-column", T("glue", "data.task=text_classification", "data.data_files={{train: {tmp}/reviews.csv}}", "data.label_column=rating"),
     ["data.data_files.train = {tmp}/reviews.csv", "no label column `rating`", "id, review, stars", "data.label_column"]),
    ("own-files-text-column", T("glue", "data.task=text_classification", "data.data_files={{train: {tmp}/reviews.csv}}", "data.label_column=stars"),
     ["no `text` or `sentence` column", "data.text_columns"]),
    ("own-files-missing-label", T("glue", "data.task=text_classification", "data.data_files={{train: {tmp}/reviews_gap.csv}}", "data.text_columns=[review]",
     "data.label_column=stars"), ["reviews_gap.csv", "1 row(s) without a `stars` label (data row 3", "fill in the labels"]),
    ("own-files-unseen-label", T("glue", "data.task=text_classification", "data.data_files={{train: {tmp}/reviews.csv, validation: {tmp}/reviews_new.csv}}",
     "data.text_columns=[review]", "data.label_column=stars"),
     ["data.data_files.validation = {tmp}/reviews_new.csv", "data row 2 has the label 4, which no training row has", "1, 5"]),
    ("own-files-one-class", T("glue", "data.task=text_classification", "data.data_files={{train: {tmp}/reviews_one.csv}}", "data.text_columns=[review]",
     "data.label_column=stars"), ["every row has the label 5", "at least 2 classes"]),
    ("own-files-split-name", T("glue", "data.task=text_classification", "data.data_files={{train: {tmp}/reviews.csv, dev: {tmp}/reviews.csv}}",
     "data.text_columns=[review]", "data.label_column=stars"), ["unknown split(s) dev", "train, validation, test"]),
    ("own-files-unclosed-quote", T("glue", "data.task=text_classification", "data.data_files={{train: {tmp}/quote.csv}}"),
     ["data.data_files.train = {tmp}/quote.csv could not be parsed", "EOF inside string", "fix the file"]),
    ("probe-broken-jsonl", ["eval", "probe", "--model", "{fake_model}", "--dataset", "{tmp}/broken.jsonl", "--output-dir", "{out}"],
     ["--dataset {tmp}/broken.jsonl could not be parsed", "JSON parse error"]),
    ("own-files-headerless", T("glue", "data.task=text_classification", "data.data_files={{train: {tmp}/headerless.csv}}",
     "data.text_columns=[review]", "data.label_column=stars"), ["no label column `stars`", "data.column_names"]),
    ("own-columns-on-a-glue-task", T("glue", "data.task=polarity", "data.label_column=stars"),
     ["data.dataset / text_columns / label_column / column_names", "data.task=text_classification", "polarity's columns are fixed"]),
    ("own-dataset-missing", T("glue", "data.task=text_classification", "data.dataset={tmp}/no/such/set"),
     ["data.dataset=", "this folder does not exist"]),
    ("squad-hub-source-offline", T("squad", "data.source=rajpurkar/squadd"), ["data.source=rajpurkar/squadd", "hub is unreachable", "wordnet_qa"]),
    ("squad-data-file-missing", T("squad", "data.source=files", "data.data_files={{train: {tmp}/t.json, validation: {tmp}/v.json}}"), ["data.data_files.train=", "this file does not exist"]),
    # -- train: checks a task makes once its model is built (the output directory it made is removed again)
    ("lora-without-start", T("quickstart", "lora.r=2"), ["lora adapts a trained model", "model.init_from="]),
    ("feature-stage-out-of-range", T("quickstart", "evaluation.feature_stages=[7]"), ["evaluation.feature_stages [7]", "3 stages"]),
    ("stem-stride-bad", T("quickstart", "model.stem_stride=3"), ["stem_stride must be 1 or 2"]),
    ("flip-probability-bad", T("quickstart", "augment.flip_p=2"), ["augment.flip_p", "[0, 1]"]),
    # -- train: the output directory and the hub section
    ("used-output-dir", ["train", "{R}/quickstart.yaml", "output_dir={run}"], ["already holds another run", "overwrite_output_dir=true", "resume_from_checkpoint=true"]),
    ("output-dir-is-file", ["train", "{R}/quickstart.yaml", "output_dir={file}"], ["is a file", "output_dir=<a new directory>"]),
    ("push-without-repo-id", T("quickstart", "hub.push_to_hub=true"), ["hub.hub_model_id is not set", "hub.hub_model_id=my-team/my-model"]),
    ("push-bad-repo-id", T("quickstart", "hub.push_to_hub=true", "hub.hub_model_id=a/b/c"), ["hub.hub_model_id", "a/b/c", "expected `namespace/name`"]),
    ("push-hub-offline", T("quickstart", "hub.push_to_hub=true", "hub.hub_model_id=org/model"), ["hub.push_to_hub=true but no hub can be reached", "hf-replearn hub push"]),
    # -- eval probe
    ("probe-model-missing", ["eval", "probe", "--model", "{tmp}/missing", "--dataset", "digits"], ["--model=", "this folder does not exist"]),
    ("probe-model-not-a-run", ["eval", "probe", "--model", "{empty}", "--dataset", "digits"], ["--model=", "no config.json"]),
    ("probe-dataset-typo", ["eval", "probe", "--model", "{fake_model}", "--dataset", "digitz"], ["--dataset=digitz", "did you mean `digits`"]),
    ("probe-seeds-zero", ["eval", "probe", "--model", "{fake_model}", "--dataset", "digits", "--seeds", "0"], ["--seeds=0", "pass --seeds 1 or more"]),
    ("probe-used-output-dir", ["eval", "probe", "--model", "{fake_model}", "--dataset", "digits", "--output-dir", "{run}"], ["already holds another run", "--overwrite"]),
    # -- fewshot
    ("fewshot-model-missing", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{tmp}/missing"], ["--model=", "this folder does not exist"]),
    ("fewshot-model-hub-offline", ["fewshot", "--task", FEWSHOT_TASK, "--model", "gpt3-large"], ["--model=gpt3-large", "hub is unreachable"]),
    ("fewshot-model-not-a-model", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{empty}"], ["--model", "no config.json"]),
    ("fewshot-used-output-dir", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_model}", "--output-dir", "{run}"], ["already holds another run", "--overwrite-output-dir"]),
    ("fewshot-seeds-zero", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_model}", "--seeds", "0"], ["--seeds", ">= 1"]),
    ("fewshot-metadata-not-json", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_model}", "--metadata", "{{n: 1}}"],
     ["--metadata must be a JSON object", "Expecting property name"]),
    ("fewshot-task-name-unknown", ["fewshot", "--task", "incontext_binry", "--include-path", "{R}/fewshot", "--model", "{fake_model}"],
     ["--task incontext_binry: no such file", "did you mean `incontext_binary`"]),
    ("fewshot-task-missing", ["fewshot", "--task", "{tmp}/nope.yaml", "--model", "{fake_model}"], ["nope.yaml does not exist", "recipes/fewshot/*.yaml"]),
    ("fewshot-task-missing-keys", ["fewshot", "--task", "{tmp}/task_missing.yaml", "--model", "{fake_model}"], ["task_missing.yaml", "missing", "dataset_path"]),
    ("fewshot-task-key-typo", ["fewshot", "--task", "{tmp}/task_typo.yaml", "--model", "{fake_model}"], ["task_typo.yaml", "`doc_to_txt`", "did you mean `doc_to_text`"]),
    ("fewshot-shots-negative", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_model}", "--shots=-1,2"], ["--shots", "integers >= 0"]),
    ("fewshot-batch-size-zero", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_model}", "--batch-size", "0"], ["--batch-size=0 must be >= 1"]),
    ("fewshot-limit-negative", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_model}", "--limit=-1"], ["--limit=-1 must be >= 1", "counts test documents"]),
    ("fewshot-device-typo", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_model}", "--device", "gpu"], ["--device gpu: not a device name", "this machine has cpu"]),
    ("fewshot-device-absent", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_model}", "--device", "mps"], ["--device mps: no mps device here", "--device cpu"]),
    ("probe-batch-size-zero", ["eval", "probe", "--model", "{fake_model}", "--dataset", "digits", "--batch-size", "0"], ["--batch-size=0 must be >= 1"]),
    ("probe-max-length-zero", ["eval", "probe", "--model", "{fake_model}", "--dataset", "polarity", "--max-length", "0"], ["--max-length=0 must be >= 1"]),
    ("probe-no-dataset", ["eval", "probe", "--model", "{fake_model}"], ["--dataset", "required"]),
    ("resume-nothing-to-resume", T("quickstart", "resume_from_checkpoint=true"),
     ["resume_from_checkpoint=true, but {out} holds no checkpoint-N folder", "drop resume_from_checkpoint"]),
    ("resume-missing-folder", T("quickstart", "resume_from_checkpoint={tmp}/checkpoint-9"),
     ["resume_from_checkpoint={tmp}/checkpoint-9: no such checkpoint folder"]),
    # -- a starting checkpoint whose architecture has no head of the kind asked ({fake_model} is a GPT-2, {fake_vit} a ViT)
    ("mlm-path-is-a-gpt2", T("mlm_bert", "model.path={fake_model}"),
     ["model.path={fake_model}: a gpt2 model (GPT2Config) has no masked-LM head", "a BERT or RoBERTa checkpoint"]),
    ("clm-path-is-a-vit", T("clm_gpt2", "model.path={fake_vit}"), ["a vit model (ViTConfig) has no causal-LM head"]),
    ("glue-model-is-a-vit", T("glue", "model.name_or_path={fake_vit}"),
     ["model.name_or_path={fake_vit}: a vit model (ViTConfig) has no sequence-classification head", "a text encoder"]),
    ("squad-model-is-a-vit", T("squad", "model.name_or_path={fake_vit}"), ["has no question-answering head"]),
    ("backbone-is-a-gpt2", T("finetune_images", "model.backbone={fake_model}"),
     ["model.backbone={fake_model}: a gpt2 model (GPT2Model) takes no images", "a transformers vision model"]),
    ("fewshot-model-is-a-vit", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_vit}"],
     ["--model {fake_vit}: a vit model (ViTConfig) has no causal-LM head", "pass --mlm for a masked LM"]),
    ("fewshot-mlm-is-a-gpt2", ["fewshot", "--task", FEWSHOT_TASK, "--model", "{fake_model}", "--mlm"],
     ["has no masked-LM head", "drop --mlm"]),
    # -- hub serve / hub push
    ("serve-port-not-a-number", ["hub", "serve", "--root", "{out}", "--token", "t", "--port", "http"], ["--port", "invalid int value"]),
    ("serve-no-token", ["hub", "serve", "--root", "{out}"], ["write token", "--token"]),
    ("serve-token-file-missing", ["hub", "serve", "--root", "{out}", "--token-file", "{tmp}/tokens"], ["--token-file", "does not exist"]),
    ("serve-max-concurrent-zero", ["hub", "serve", "--root", "{out}", "--token", "t", "--max-concurrent", "0"], ["--max-concurrent 0", "at least 1"]),
    ("serve-root-is-file", ["hub", "serve", "--root", "{file}", "--token", "t"], ["--root", "is a file"]),
    ("push-offline", ["hub", "push", "{run}", "org/model"], ["HF_HUB_OFFLINE", "HF_HUB_OFFLINE=0 hf-replearn hub push"]),
    ("push-bad-repo-id-cli", ["hub", "push", "{run}", "a/b/c"], ["a/b/c", "expected `namespace/name`"]),
]

YAML_FILES = {
    "typo.yaml": "task: simclr\nmodel:\n  widht: 3\n",
    "training_typo.yaml": "task: simclr\nseed: 0\n\ntraining:\n  max_step: 3\n",
    "negative_lr.yaml": "task: simclr\ntraining:\n  output_dir: {out}\n  learning_rate: -1\n",
    "long_warmup.yaml": "task: simclr\ntraining:\n  output_dir: {out}\n  max_steps: 10\n  warmup_steps: 50\n",
    "task_missing.yaml": "task: t\n",
    "task_typo.yaml": (R / "fewshot" / "incontext_binary.yaml").read_text().replace("doc_to_text", "doc_to_txt"),
    "broken.yaml": "task: simclr\nmodel: [unclosed\n",
    "no_task.yaml": "seed: 1\n",
    "reviews.csv": "id,review,stars\n1,Great fun.,5\n2,Dull.,1\n3,Loved it.,5\n4,Awful.,1\n",
    "reviews_gap.csv": "id,review,stars\n1,Great fun.,5\n2,Dull.,1\n3,Loved it.,\n4,Awful.,1\n",
    "reviews_new.csv": "id,review,stars\n5,Good.,5\n6,Fine.,4\n",
    "reviews_one.csv": "id,review,stars\n1,Great fun.,5\n2,Loved it.,5\n",
    "headerless.csv": "1,Great fun.,5\n2,Dull.,1\n",
    "quote.csv": 'text,label\n"unclosed quote,1\nfine,0\n',
    "broken.jsonl": '{"text": "a", "label": 1}\n{"text": "b", "label"\n',
}


def tree_hash(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its bytes' hash (folders as ``dir``) and mode."""
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
            + f" {p.stat().st_mode:o}" for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("argv, expected", [pytest.param(a, e, id=i) for i, a, e in ROWS])
def test_bad_input_exits_2_and_touches_nothing(argv, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a default output directory would land here, and be caught by the hash
    monkeypatch.delenv("HF_REPLEARN_HUB_TOKEN", raising=False)
    names = {"tmp": tmp_path, "out": tmp_path / "out", "run": tmp_path / "earlier_run", "empty": tmp_path / "empty",
             "fake_model": tmp_path / "fake_model", "fake_vit": tmp_path / "fake_vit", "file": tmp_path / "a_file", "R": R}
    for sub in ("run", "empty", "fake_model", "fake_vit"):
        names[sub].mkdir()
    (names["run"] / "results.json").write_text('{"loss": 1.0}\n')
    (names["run"] / "model.safetensors").write_bytes(b"not really weights")
    (names["run"] / "checkpoint-5").mkdir()
    (names["run"] / "checkpoint-5" / "trainer_state.json").write_text("{}")
    (names["fake_model"] / "config.json").write_text('{"model_type": "gpt2"}')
    (names["fake_vit"] / "config.json").write_text('{"model_type": "vit"}')
    names["file"].write_text("a file, not a folder\n")
    for name, text in YAML_FILES.items():
        (tmp_path / name).write_text(text.replace("{out}", str(names["out"])))
    argv = [a.format(**names) for a in argv]
    before = tree_hash(tmp_path)

    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage errors: exit status 2 with the option named
        code = stop.code

    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for text in expected:
        assert text.format(**names) in err, f"{text!r} not in:\n{err}"
    assert tree_hash(tmp_path) == before, "the run touched files on bad input"
    assert len(ROWS) >= 60


def test_a_short_trial_run_keeps_the_recipes_warmup(tmp_path, caplog):
    """``max_steps=2`` on the command line under a recipe's longer warmup is a trial run, not an error."""
    from hf_replearn.tasks import load_recipe
    from hf_replearn.tasks.checks import check_training

    recipe = load_recipe(R / "clm_incontext.yaml", ["max_steps=2", f"output_dir={tmp_path / 'out'}"])
    check_training(recipe)
    assert "never reaches its peak" in caplog.text and not (tmp_path / "out").exists()


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers (a hung server)."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.mark.parametrize("endpoint", ["free", "silent"], ids=["refused", "no-answer"])
@pytest.mark.parametrize("argv, expected", [
    (T("quickstart", "data.name=digitz"), "did you mean `digits`"),
    (T("glue", "model.name_or_path=bert-base-uncasd"), "model.name_or_path=bert-base-uncasd is not a local folder"),
], ids=["dataset", "model"])
def test_unreachable_hub_fails_within_5s(argv, expected, endpoint, tmp_path, capsys, monkeypatch, free_port, silent_port):
    """Without HF_HUB_OFFLINE, a hub that refuses or never answers is found out by one short connect:
    one error, no retries, under 5 s."""
    import time

    from hf_replearn.utils import inputs

    main(["train", str(R / "quickstart.yaml"), "max_steps"])  # imports done: the timing below is the check's
    capsys.readouterr()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port if endpoint == 'free' else silent_port}")
    inputs._no_answer.cache_clear()
    argv = [a.format(R=R, out=tmp_path / "out") for a in argv]
    start = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "hub is unreachable" in err and "Retrying" not in err, err
    assert seconds < 5, f"{seconds:.1f} s"
    assert not (tmp_path / "out").exists()
