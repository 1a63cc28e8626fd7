"""``hf-replearn eval probe``: one path from models and a labelled set to one table, for every modality.

    load the models -> load the data -> check everything -> features (cached) -> baselines -> probes -> write

Every check (a model that cannot be read, a modality mismatch, a missing label column, a budget larger than
the smallest class, a model without hidden states) runs before any feature is computed. The probes are
``probe.probe_features`` for every feature set, so the image recipes (``probe.evaluate_representations``)
and this command give the same numbers on the same features.

Written to the output directory: ``results.json`` (one flat schema for every modality:
``linear_probe/<features>/<budget>``, ``linear_probe_cv/...``, ``knn/<features>``, ``kmeans_nmi/<features>``),
``probe.md`` (the table under the dataset's name, a model-card section) and ``tsne.png``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hf_replearn.errors import UserError
from hf_replearn.evaluation.features import (POOLINGS, ProbeModel, Readout, check_hidden_states, default_pooling,
                                             hidden_states, layer_names, load_probe_model)
from hf_replearn.evaluation.probe import (BASELINES, PROBE_SYNTAX, ProbeConfig, check_feature_stages, default_output_dir,
                                          features_note, fillable_budgets, knn_k, model_and_h_features, pixel_baseline_sets,
                                          probe_feature_sets, probe_table)
from hf_replearn.evaluation.probe_data import ProbeData, load_image_data, load_text_data, source_modality
from hf_replearn.evaluation.text_baselines import TEXT_BASELINES, tfidf_features
from hf_replearn.models.pretrained import package_model

DEFAULT_BASELINES = {"image": ["raw", "pca", "random_init"], "text": ["tfidf_word", "tfidf_char", "random_init"],
                     "audio": ["mfcc", "random_init"]}
KNOWN_BASELINES = {"image": BASELINES, "text": TEXT_BASELINES, "audio": ("mfcc", "random_init")}


@dataclass
class ProbeRequest:
    """Everything ``eval probe`` takes; the CLI fills it from its flags."""

    models: list[str]
    dataset: str
    output_dir: str | None = None
    overwrite: bool = False
    baselines: list[str] | None = None
    """None: the modality's defaults (``DEFAULT_BASELINES``)."""
    probe: ProbeConfig = field(default_factory=lambda: ProbeConfig(cv_c=True))
    default_budgets: bool = False
    """``probe.labels_per_class`` are the CLI's defaults, not the user's: those the smallest training class cannot
    fill are left out (and said) rather than refused."""
    readout: Readout = field(default_factory=Readout)
    layer: str | None = None
    """A hidden-state index, ``all`` (one row per layer), or None (the last)."""
    text_columns: list[str] = field(default_factory=list)
    label_column: str = "label"
    column_names: list[str] | None = None
    """The columns of a CSV / TSV file without a header row, in order."""
    dataset_limit: int | None = None
    image_size: int | None = None
    trust_remote_code: bool = False
    model_names: list[str] | None = None
    """Row names; None: ``model`` for one model, else each folder's name."""


def default_row_name(source: str) -> str:
    """A folder's name, a hub id with ``_`` for ``/``; a folder inside an installed package by the model's name
    there (the shipped MiniLM's folder is called ``model``: its row is ``all-MiniLM-L6-v2``)."""
    found = package_model(source)
    return Path(found[0]).name if found else (Path(source).name or source.replace("/", "_"))


def load_models(req: ProbeRequest) -> list[ProbeModel]:
    names = []
    for i, source in enumerate(req.models):
        name = req.model_names[i] if req.model_names else "model" if len(req.models) == 1 else default_row_name(source)
        while name in names:
            name += "'"
        names.append(name)
    held = source_modality(req.dataset)
    models = [load_probe_model(s, n, req.trust_remote_code, held) for s, n in zip(req.models, names)]
    modalities = {m.modality for m in models}
    if len(modalities) > 1:
        raise UserError("--model: " + ", ".join(f"{m.source} reads {m.modality}" for m in models) +
                        "; compare models of one modality in a table")
    return models


def load_data(req: ProbeRequest, modality: str, models: list[ProbeModel]) -> ProbeData:
    check_modality(req.dataset, modality, models)
    if modality == "text":
        return read_text(req)
    if req.text_columns or req.label_column != "label" or req.column_names:
        raise UserError("--text-column / --label-column name the columns of a text set; images take data.images' detection")
    sizes = {getattr(m.image_config, "image_size", None) for m in models if m.toolkit_image}
    if req.image_size is None and len(sizes) > 1:
        raise UserError(f"the models take different image sizes {sorted(sizes)}; pass --image-size to pick one")
    data = load_image_data(req.dataset, req.image_size or (sizes.pop() if sizes else None), req.dataset_limit)
    for m in models:
        channels = getattr(m.image_config, "num_channels", None)
        if m.toolkit_image and channels != data.train_x.shape[1]:
            raise UserError(f"--dataset {req.dataset} has {data.train_x.shape[1]}-channel images; "
                            f"{m.source} takes {channels}")
    return data


def read_text(req: ProbeRequest) -> ProbeData:
    return load_text_data(req.dataset, req.text_columns, req.label_column, req.dataset_limit, column_names=req.column_names)


def check_modality(dataset: str, modality: str, models: list[ProbeModel]) -> None:
    held = source_modality(dataset)
    if held is not None and held != modality:
        article = "an" if modality[0] in "aeiou" else "a"
        raise UserError(f"--dataset {dataset} holds {held}, and --model {models[0].source} reads {modality}; "
                        f"give {article} {modality} dataset, or a model that reads {held}")


def check_request(req: ProbeRequest, modality: str) -> list[str]:
    """The baselines to run; a UserError for anything unknown."""
    baselines = DEFAULT_BASELINES[modality] if req.baselines is None else list(req.baselines)
    unknown = sorted(set(baselines) - set(KNOWN_BASELINES[modality]))
    if unknown:
        raise UserError(f"--baselines: unknown {unknown} for {modality}; choose from {', '.join(KNOWN_BASELINES[modality])}")
    if req.readout.pooling is not None and req.readout.pooling not in POOLINGS:
        raise UserError(f"--pooling {req.readout.pooling}: choose from {', '.join(POOLINGS)}")
    req.probe.baselines = [b for b in baselines if b in BASELINES]
    if modality != "audio":  # the speech probes use every label: phone per frame, speaker per utterance
        req.probe.validate()
    return baselines


def model_feature_sets(pm: ProbeModel, data: ProbeData, req: ProbeRequest) -> dict:
    """{name: (train, test)} for one model: its chosen layer(s), or pooled stage maps of a toolkit image model."""
    if pm.toolkit_image and not req.probe.reads_h:
        return model_and_h_features(pm.model, data.train_x, data.test_x, req.probe, pm.name, with_h=pm.name != "random_init")
    layers = layer_names(pm, req.layer if pm.kind == "transformers" else None)
    train, test = (hidden_states(pm, x, req.readout, f"{data.name}/{split}") for x, split in ((data.train_x, "train"), (data.test_x, "test")))
    return {name: (train[i], test[i]) for name, i in layers.items()}


def check_models(req: ProbeRequest, models: list[ProbeModel], data: ProbeData) -> None:
    """The label budgets, the layer, hidden states and feature stages of every model: before any feature is computed."""
    if req.default_budgets:
        req.probe = fillable_budgets(req.probe, data.train_y)
    data.check_budgets(req.probe.labels_per_class)
    for pm in models:
        check_hidden_states(pm, data.train_x[:1], req.readout.pooling)  # counts the hidden states --layer picks from
        layer_names(pm, req.layer if pm.kind == "transformers" else None)
        if not req.probe.reads_h:
            if not pm.toolkit_image:
                raise UserError(f"--feature-stages / --feature-grid read this toolkit's image encoders; {pm.source} is a "
                                f"{type(pm.model).__name__}: use --layer for transformers models")
            check_feature_stages(pm.model, req.probe.feature_stages)


def probe_models(req: ProbeRequest, models: list[ProbeModel], data: ProbeData, baselines: list[str]) -> tuple[dict, tuple]:
    """Features of every model and baseline, then every probe: (results, the (train, test) features the t-SNE shows).

    Nothing is written; ``run_probe`` and the recipes that probe their own checkpoints (glue) share it."""
    start = time.perf_counter()
    features = {}
    for pm in models:
        features.update(sets := model_feature_sets(pm, data, req))
        if pm is models[0]:  # the t-SNE picture shows the first model's features (with --layer all, its last layer)
            pictured = sets.get(pm.name) or list(sets.values())[-1]
    if data.modality == "image":
        features.update(pixel_baseline_sets(baselines, data.train_x, data.test_x, req.probe))
    else:
        features.update({name: tfidf_features(name, data.train_x, data.test_x) for name in baselines if name != "random_init"})
    if "random_init" in baselines:  # the first model's architecture, fresh weights, read the same way
        fresh = models[0].random_init(seed=0)
        features.update(model_feature_sets(fresh, data, req))
    extract_s = time.perf_counter() - start
    results = probe_feature_sets(features, data.train_y, data.test_y, req.probe)
    results["eval/features_s"] = extract_s
    results["eval/runtime_s"] = time.perf_counter() - start
    return results, pictured


def run_probe(req: ProbeRequest) -> tuple[dict[str, float], str, Path]:
    """Probe every model and baseline; write the outputs. Returns (results, markdown section, output dir)."""
    from hf_replearn.utils.files import atomic_write_text, check_output_dir, prepare_output_dir, write_results

    text = None
    if source_modality(req.dataset) == "text":  # text rows do not depend on the model: refuse bad ones before any loads
        check_request(req, "text")
        text = read_text(req)
    models = load_models(req)
    modality = models[0].modality
    baselines = check_request(req, modality)
    if modality == "audio":
        from hf_replearn.evaluation.speech_runner import run_speech_probe

        check_modality(req.dataset, modality, models)
        return run_speech_probe(req, models, baselines)
    if text is not None:
        check_modality(req.dataset, modality, models)
    data = text if text is not None else load_data(req, modality, models)
    check_models(req, models, data)
    out = Path(req.output_dir or default_output_dir(req.models, req.dataset))
    check_output_dir(out, overwrite=req.overwrite, syntax=PROBE_SYNTAX)
    results, pictured = probe_models(req, models, data, baselines)
    out = prepare_output_dir(out, overwrite=req.overwrite, syntax=PROBE_SYNTAX)  # created once there is something to write
    section = probe_section(req, data, models, results)
    write_results(out, results)
    atomic_write_text(out / "probe.md", section + "\n")
    if req.probe.tsne:
        from hf_replearn.evaluation.plots import tsne_plot

        tsne_plot(pictured[1], data.test_y, out / "tsne.png", class_names=data.class_names,
                  max_points=req.probe.tsne_points)
    return results, section, out


def probe_section(req: ProbeRequest, data: ProbeData, models: list[ProbeModel], results: dict) -> str:
    """The table under a heading naming the dataset, and what each row read: a model-card section."""
    counts = f"{len(data.train_y)} train / {len(data.test_y)} test, {len(np.unique(data.train_y))} classes"
    lines = [f"## Linear probe on {data.name} ({counts})", "",
             f"Test accuracy of a logistic-regression probe on frozen features (C = 1"
             f"{', and C chosen by cross-validation on the labelled subset' if req.probe.cv_c else ''}), mean ± std over "
             f"{req.probe.seeds} label subset{'s' if req.probe.seeds != 1 else ''}; k-NN "
             f"(k={knn_k(req.probe.knn_k, data.train_y)}, cosine) with every label.", "",
             probe_table({k: v for k, v in results.items() if not k.startswith("eval/")}), ""]
    for pm in models:
        if pm.kind == "word2vec":
            what = "the mean vector of a text's in-vocabulary words"
        elif pm.kind == "text_tower":
            what = "the text tower's embedding (get_text_features)"
        elif pm.toolkit_image:
            h = "the image tower's embedding (get_image_features)" if pm.kind == "image_tower" else "h = f(x)"
            what = h if req.probe.reads_h else f"stages {req.probe.feature_stages} pooled to {req.probe.feature_grid}x{req.probe.feature_grid}"
        else:
            pooling = req.readout.pooling or default_pooling(pm.model.config)
            what = f"{pooling}-pooled hidden state " + ("of every layer (`@i`: layer i, 0 = embeddings)" if req.layer == "all"
                                                         else "of the last layer" if req.layer is None else f"of layer {req.layer}")
        lines.append(f"- `{pm.name}`: {pm.shown_source} ({pm.shown_class}), {what}")
    if any(pm.toolkit_image for pm in models):
        lines.append(features_note(req.probe).strip())
    return "\n".join(lines).strip()
