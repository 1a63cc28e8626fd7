"""LoRA through PEFT for any recipe: a ``lora:`` section, per-architecture defaults, adapter-only saves.

Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models" (ICLR 2022): a frozen weight
``W0 (d_out, d_in)`` gains a trainable update ``(alpha / r) * B @ A`` with ``A (r, d_in)``, ``B (d_out, r)``,
``B`` initialised to zero so training starts from the pretrained function. Defaults follow the paper's
GLUE setup (sec. 7.1, RoBERTa: ``r = 8``, ``alpha = 16``, adapting the query and value projections).

Target modules: ``lora.target_modules`` when given; otherwise PEFT's own table of defaults per
``model_type`` (``bert``, ``roberta``: query / value; ``gpt2``: c_attn; ``llama``: q_proj / v_proj; ...);
for this toolkit's own families (SimCLR, MoCo, the pretext models, ...) every ``Conv2d`` and ``Linear``
layer: the encoder's convolutions and the heads' linear layers, both of which PEFT's LoRA supports (for a
convolution ``A`` is a ``(r, c_in, k, k)`` convolution and ``B`` a ``1 x 1`` one back to ``c_out``). Any
other model type is an error listing its layers. Everything else (embeddings, LayerNorm / BatchNorm
affine weights, the MLM / LM head) stays frozen. BatchNorm running statistics are buffers that training
still updates, so BatchNorm layers are saved with the adapter (PEFT's ``modules_to_save``, their affine
weights kept frozen): the adapter on its base, and a resumed checkpoint, then equal the trained model. The
task head (every top-level module besides the base model: ``classifier``, ``qa_outputs``, DistilBERT's
``pre_classifier``, T5's and BART's ``classification_head``) is trained fully and saved with the adapter.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from pathlib import Path

import torch

from hf_replearn.errors import UserError

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class LoraSection:
    """The ``lora:`` section of a recipe. A task declares it as
    ``lora: LoraSection = field(default_factory=lambda: LoraSection(enabled=False))``, so that a recipe
    without the section fine-tunes fully and one with it (``lora: {r: 8}``) uses LoRA."""

    enabled: bool = True
    r: int = 8
    """Rank of the update ``B @ A``."""
    alpha: float = 16.0
    """Scaling numerator: the update is multiplied by ``alpha / r``."""
    dropout: float = 0.1
    """Dropout on the LoRA branch's input."""
    target_modules: list[str] | None = None
    """Names (suffixes) of the linear layers to adapt; ``None``: the architecture's default."""
    modules_to_save: list[str] | None = None
    """Extra modules trained fully and saved with the adapter (the task head is added automatically)."""
    merge_on_save: bool = True
    """Text tasks: also export ``<output_dir>/merged``, the base with ``(alpha / r) B A`` folded in, a plain
    model. (Image tasks always save the merged model as the main checkpoint, which the probes read, and
    the adapter alone under ``<output_dir>/adapter``.)"""

    def __post_init__(self):
        if self.r < 1:
            raise UserError(f"lora.r must be a positive rank, got {self.r}; the paper uses 1 to 64 (e.g. lora.r=8)")
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"lora.dropout must lie in [0, 1), got {self.dropout}")


ADAPTABLE = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Embedding)
"""Layer types PEFT's LoRA wraps (besides transformers' ``Conv1D``, which PEFT's defaults for GPT-2 name)."""


# Encoders PEFT's default mapping leaves out (peft 0.21), with the same choice it makes for BERT: the attention's
# query and value projections (ModernBERT computes them in one fused Wqkv layer).
MORE_DEFAULT_TARGETS = {"distilbert": ["q_lin", "v_lin"], "albert": ["query", "value"], "modernbert": ["Wqkv"]}


def default_target_modules(model) -> list[str]:
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as DEFAULTS

    from hf_replearn.models.auto import FAMILIES

    model_type = getattr(getattr(model, "config", None), "model_type", None)
    defaults = {**MORE_DEFAULT_TARGETS, **DEFAULTS}
    if model_type in defaults:
        return list(defaults[model_type])
    if model_type in FAMILIES:  # full names: MoCo's key encoder repeats its query encoder's layer names
        return [name for name, m in model.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    raise UserError(
        f"no default LoRA target modules for model_type {model_type!r}; set lora.target_modules to some of its "
        f"layers: {', '.join(adaptable_layer_names(model)[:20])}"
    )


def adaptable_layer_names(model) -> list[str]:
    """Short names of the layers LoRA can wrap, as ``lora.target_modules`` may list them (PEFT matches a name's
    end): the last part, or the last two where the last is an index (``query``, ``conv1``, ``stem.0``)."""
    from transformers.pytorch_utils import Conv1D

    names = set()
    for name, module in model.named_modules():
        if isinstance(module, (*ADAPTABLE, Conv1D)):
            parts = name.split(".")
            names.add(".".join(parts[-2:]) if parts[-1].isdigit() else parts[-1])
    return sorted(names)


HEAD_TASKS = ("SEQ_CLS", "QUESTION_ANS", "TOKEN_CLS")  # PEFT task types whose head is new and trained in full


def task_head_names(model) -> list[str]:
    """The top-level modules of a transformers task model besides its base model: its task head, trained fully and
    saved with the adapter. PEFT's ``SEQ_CLS`` type saves only modules named ``classifier`` or ``score``, which
    leaves T5's and BART's ``classification_head`` and DistilBERT's ``pre_classifier`` frozen at their random start
    and out of the adapter. A model whose layers do not sit in a base-model child gets none here."""
    base = getattr(model, getattr(model, "base_model_prefix", "") or "_", None)
    if not isinstance(base, torch.nn.Module):  # no base-model child to tell the head from (T5ForQuestionAnswering)
        return []  # PEFT's own choice stands
    return [name for name, child in model.named_children() if child is not base and next(child.parameters(), None) is not None]


def apply_lora(model, section: LoraSection, task_type: str | None = None):
    """Wrap ``model`` in a ``PeftModel``; only the LoRA matrices (and the task head) stay trainable."""
    from peft import LoraConfig, get_peft_model

    norms = [name for name, m in model.named_modules() if isinstance(m, BATCH_NORMS) and m.track_running_stats]
    heads = task_head_names(model) if task_type in HEAD_TASKS else []  # a language model's head stays frozen
    config = LoraConfig(
        r=section.r,
        lora_alpha=section.alpha,
        lora_dropout=section.dropout,
        target_modules=section.target_modules or default_target_modules(model),
        modules_to_save=list(section.modules_to_save or []) + heads + norms or None,
        task_type=task_type,
    )
    try:
        with warnings.catch_warnings():  # PEFT asks transformers' renamed is_gradient_checkpointing: not the user's to fix
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            peft_model = get_peft_model(model, config)
        freeze_saved_norms(peft_model, section.modules_to_save or [])
    except ValueError as err:  # PEFT: no module matched, or one of a type it cannot wrap (BatchNorm2d, ...)
        found = "names no layer of the model" if "not found" in str(err) or "No modules were targeted" in str(err) \
            else str(err).splitlines()[0][:300]  # fmt: skip
        raise UserError(
            f"lora.target_modules={section.target_modules}: {found}; name layers of the model that LoRA can adapt "
            f"(a name's last parts match): {', '.join(adaptable_layer_names(model)[:30])}"
        ) from None
    trainable, total = count_parameters(peft_model)
    targets = config.target_modules  # names (a set once PEFT resolved them) or one regular expression
    logger.warning("LoRA r=%d alpha=%g on %s: %d trainable of %d parameters (%.2f%%)", section.r, section.alpha,
                   targets if isinstance(targets, str) else ", ".join(sorted(targets)), trainable, total,
                   100 * trainable / total)  # fmt: skip
    return peft_model


BATCH_NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)


def freeze_saved_norms(peft_model, trained: list[str]) -> None:
    """BatchNorm layers are in ``modules_to_save`` for their running statistics only: freeze their affine
    weights again (PEFT made the saved copies trainable), unless the recipe named them in ``trained``."""
    from peft.utils import ModulesToSaveWrapper

    for name, module in peft_model.named_modules():
        if (isinstance(module, ModulesToSaveWrapper) and isinstance(module.original_module, BATCH_NORMS)
                and not any(name.endswith(t) for t in trained)):  # fmt: skip
            module.modules_to_save.requires_grad_(False)


def count_parameters(model) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def card_section(lora: LoraSection, results: dict, merged_here: bool) -> str:
    """A card's LoRA section: the rank, how much was trained, where the adapter and the merged model are
    (``merged_here``: the image tasks' layout, the merged model in the run's folder; else the text tasks')."""
    from hf_replearn.utils.inputs import LORA_MERGED

    trained = (f"Adapted with LoRA (r={lora.r}, alpha={lora.alpha:g}): {results['model/trainable_params']:,} of "
               f"{results['model/total_params']:,} parameters trained.")
    if merged_here:
        return f"{trained} The weights here are the base with (alpha / r) B A merged in; the adapter alone is in `adapter/`."
    merged = (f" `{LORA_MERGED}/` holds the base with (alpha / r) B A folded in, a plain model (what `hf-replearn eval "
              f"probe` reads)." if lora.merge_on_save else "")
    return f"{trained} This folder holds the adapter.{merged}"


def is_peft_model(model) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def export_merged(peft_model, output_dir: Path, state_dict: dict | None = None):
    """Save base + ``(alpha / r) B A`` as a plain ``transformers`` model (no PEFT needed to load it).

    Merges a copy, so that the adapter-wrapped ``peft_model`` stays usable. Under FSDP ``peft_model`` holds
    only this process's shards: pass the full weights gathered from every process
    (``training.outputs.full_state_dict``) and the copy is rebuilt unsharded from them.
    """
    import copy

    from hf_replearn.training.outputs import save_model_atomically

    source = copy.deepcopy(peft_model) if state_dict is None else unsharded_copy(peft_model, state_dict)
    merged = source.merge_and_unload()
    save_model_atomically(merged, Path(output_dir))
    return merged


def save_merged_with_adapter(peft_model, output_dir: Path):
    """The image tasks' layout: ``output_dir`` holds the merged model (what the probes, ``hf-replearn eval
    probe`` and a hub push read, loadable with ``AutoModel``), ``output_dir/adapter`` the adapter alone.

    Returns the merged model on the main process (which probes it) and ``peft_model`` on the others.
    """
    from hf_replearn.utils.distributed import is_main_process
    from hf_replearn.training.outputs import full_state_dict, save_model_atomically

    gathered = full_state_dict(peft_model)  # every process: a collective under FSDP, None otherwise
    save_model_atomically(peft_model, Path(output_dir) / "adapter", state_dict=gathered)
    if not is_main_process():
        return peft_model
    return export_merged(peft_model, output_dir, state_dict=gathered)


def unsharded_copy(peft_model, state_dict: dict):
    """A PeftModel with ``peft_model``'s base class, config and LoRA config, on plain tensors holding ``state_dict``."""
    from peft import get_peft_model
    from torch.distributed.fsdp import FSDPModule

    base = peft_model.get_base_model()
    # fully_shard swaps a module's class for an FSDP subclass of it: build the class it subclasses
    base_class = next(c for c in type(base).__mro__ if not issubclass(c, FSDPModule))
    adapter = peft_model.active_adapter
    fresh = get_peft_model(base_class(base.config), peft_model.peft_config[adapter], adapter_name=adapter)
    fresh.load_state_dict(state_dict)  # strict: every key of the sharded model, full shapes
    return fresh
