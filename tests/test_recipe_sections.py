"""Recipe sections derived from config classes: each field, default and doc written once, in the config."""

import dataclasses

import pytest
from transformers import PreTrainedConfig

from hf_replearn.config import from_dict
from hf_replearn.tasks import build_recipe
from hf_replearn.errors import UserError
from hf_replearn.models.beta_vae import BetaVAEConfig
from hf_replearn.models.moco import MoCoConfig
from hf_replearn.models.simclr import SimCLRConfig
from hf_replearn.recipe_sections import config_arguments, config_section, documented_args
from hf_replearn.tasks.autoencoder import AutoencoderModelArgs, BetaVAEModelArgs
from hf_replearn.tasks.moco import MoCoModelArgs
from hf_replearn.tasks.pretext import ColorizationModelArgs, ContextModelArgs, InpaintingModelArgs
from hf_replearn.tasks.rotation import RotationModelArgs
from hf_replearn.tasks.simclr import SimCLRModelArgs

BASE = {"task": "simclr", "data": {"name": "digits"}, "training": {"output_dir": "out", "max_steps": 5}}
SECTIONS = [SimCLRModelArgs, MoCoModelArgs, RotationModelArgs, ContextModelArgs, InpaintingModelArgs,
            ColorizationModelArgs, AutoencoderModelArgs, BetaVAEModelArgs]  # fmt: skip


def fields_of(section) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(section)}


def default_of(field: dataclasses.Field):
    return field.default_factory() if field.default is dataclasses.MISSING else field.default


def test_config_field_appears_with_its_default_and_doc():
    fields = fields_of(SimCLRModelArgs)
    assert default_of(fields["projection_dim"]) == 128
    assert fields["projection_dim"].metadata["doc"] == "dimension of z (the paper uses 128)."
    assert default_of(fields["contrastive_temperature"]) == 0.5
    # An encoder field, documented in ImageEncoderConfig over two lines, joined into one.
    assert default_of(fields["widths"]) == [32, 64, 128]
    assert fields["widths"].metadata["doc"] == "channels of each ResNet stage; the representation h has ``widths[-1]`` dimensions."
    assert fields["widths"].type == list[int]
    # The data's shape is the task's to set, and init_from is the section's own (recipe-only) key.
    assert "num_channels" not in fields and "image_size" not in fields
    assert "init_from" in fields and "config" not in fields["init_from"].metadata
    assert set(SimCLRModelArgs().config_kwargs()) == set(fields) - {"init_from"}


def test_subclass_default_and_doc_win_and_lists_are_not_shared():
    latent = fields_of(BetaVAEModelArgs)["latent_dim"]
    assert default_of(latent) == 10 and "dSprites" in latent.metadata["doc"]
    assert default_of(fields_of(AutoencoderModelArgs)["latent_dim"]) == 32
    assert "beta" in fields_of(BetaVAEModelArgs) and "beta" not in fields_of(AutoencoderModelArgs)
    a, b = SimCLRModelArgs(), SimCLRModelArgs()
    a.widths.append(256)
    assert b.widths == [32, 64, 128]


def test_families_without_backbones_leave_those_keys_out():
    assert {"backbone", "backbone_pretrained", "trust_remote_code"} <= set(fields_of(MoCoModelArgs))
    for section in (RotationModelArgs, ContextModelArgs, InpaintingModelArgs, ColorizationModelArgs, AutoencoderModelArgs):
        assert not {"backbone", "backbone_pretrained", "trust_remote_code"} & set(fields_of(section)), section
    assert "memory_bank_size" not in fields_of(MoCoModelArgs)  # the task sets it: the number of training examples


def test_a_backbone_leaves_the_small_resnet_sizes_out_of_the_card_hyperparameters():
    for raw in (BASE, {"task": "finetune_images", "data": {"name": "digits"}, "training": {"output_dir": "out"}}):
        plain = build_recipe(raw, ["model.widths=[8,16]"]).to_dict()["model"]
        assert plain["widths"] == [8, 16] and {"blocks_per_stage", "stem_stride"} <= set(plain)
        model = build_recipe(raw, ["model.backbone=some/vit"]).to_dict()["model"]
        assert model["backbone"] == "some/vit"
        assert not {"widths", "blocks_per_stage", "stem_stride"} & set(model), raw["task"]


def test_unknown_key_names_the_closest_one():
    with pytest.raises(UserError, match=r"unknown key `model.projection_dimm`; did you mean `model.projection_dim`"):
        from_dict(SimCLRModelArgs, {"projection_dimm": 8}, "r.yaml", "model.")
    with pytest.raises(UserError, match=r"unknown key `model.latent_dims`; did you mean `model.latent_dim`"):
        build_recipe({"task": "beta_vae"}, ["model.latent_dims=3"])
    with pytest.raises(UserError, match=r"unknown key `model.beta`"):  # the autoencoder has no KL term to weight
        build_recipe({"task": "autoencoder"}, ["model.beta=2"])


def test_renamed_key_names_the_new_one():
    for task in ("simclr", "moco"):
        with pytest.raises(UserError, match=r"`model.temperature` was renamed `model.contrastive_temperature`"):
            build_recipe({**BASE, "task": task}, ["model.temperature=0.2"])
    assert build_recipe(BASE, ["model.contrastive_temperature=0.2"]).model.contrastive_temperature == 0.2


def test_values_are_type_checked_against_the_config_annotations():
    with pytest.raises(UserError, match=r"`model.key_mechanism` must be one of 'moco', 'end_to_end', 'memory_bank'"):
        build_recipe({**BASE, "task": "moco"}, ["model.key_mechanism=bank"])
    with pytest.raises(UserError, match=r"`model.mask_fraction` must be float, got 'half'"):
        build_recipe({"task": "inpainting"}, ["model.mask_fraction=half"])
    assert build_recipe({"task": "rotation"}, ["model.classifier_dropout=1"]).model.classifier_dropout == 1.0


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.__name__)
def test_config_from_section_equals_config_built_directly(section):
    shape = dict(num_channels=3, image_size=32)
    config = section.config_class(**shape, **section().config_kwargs())
    assert config.to_dict() == section.config_class(**shape).to_dict()
    values = {"widths": [8, 16], "blocks_per_stage": 2, "stem_stride": 2}
    recipe_section = from_dict(section, values, "r.yaml", "model.")
    assert section.config_class(**shape, **recipe_section.config_kwargs()).to_dict() == section.config_class(**shape, **values).to_dict()


def test_moco_section_round_trips_every_field():
    values = dict(projection_dim=16, mlp_head=False, queue_size=64, momentum=0.99, contrastive_temperature=0.1,
                  key_mechanism="memory_bank", memory_bank_momentum=0.3, shuffle_bn_groups=2, projection_hidden_dim=32)  # fmt: skip
    section = from_dict(MoCoModelArgs, values, "r.yaml", "model.")
    built = MoCoConfig(memory_bank_size=100, **section.config_kwargs())
    assert built.to_dict() == MoCoConfig(memory_bank_size=100, **values).to_dict()


def test_docstring_args_sections_are_parsed_per_class():
    docs = documented_args(SimCLRConfig)
    assert set(docs) == {"projection_hidden_dim", "projection_dim", "contrastive_temperature", "contrastive_loss",
                         "support_set_size"}
    assert docs["projection_hidden_dim"] == "hidden width of g; defaults to the width of h, as in the paper."
    assert set(documented_args(BetaVAEConfig)) == {"beta", "latent_dim"}
    names = list(config_arguments(SimCLRConfig))
    assert names[:3] == ["num_channels", "image_size", "widths"]  # the encoder's first, then the family's
    assert names[-5:] == ["projection_hidden_dim", "projection_dim", "contrastive_temperature", "contrastive_loss",
                          "support_set_size"]


class UndocumentedConfig(PreTrainedConfig):
    """A config that forgot a doc.

    Args:
        size (`int`, defaults to 4): documented.
    """

    def __init__(self, size: int = 4, depth: int = 2, **kwargs):
        self.size, self.depth = size, depth
        super().__init__(**kwargs)


def test_a_config_must_document_and_annotate_each_argument():
    with pytest.raises(TypeError, match="depth not documented in the `Args:` section"):
        config_section(UndocumentedConfig)
    with pytest.raises(TypeError, match="no such argument temperature"):
        config_section(SimCLRConfig, renamed={"tau": "temperature"})

    class Repeats:
        projection_dim: int = 64

    with pytest.raises(TypeError, match="Repeats.projection_dim repeats an argument of SimCLRConfig"):
        config_section(SimCLRConfig)(Repeats)
