"""The probe reading pooled stage maps of the small ResNet (evaluation.feature_stages / feature_grid)."""

import pytest
import torch
import torch.nn.functional as F

from hf_replearn.data.images import ImageDataConfig, load_image_dataset
from hf_replearn.errors import UserError
from hf_replearn.evaluation.probe import ProbeConfig, evaluate_representations, extract_features, features_note, stage_features
from hf_replearn.models.simclr import SimCLRConfig, SimCLRModel


def tiny_simclr(blocks_per_stage=2):
    torch.manual_seed(0)
    config = SimCLRConfig(image_size=16, widths=[4, 8, 16], blocks_per_stage=blocks_per_stage)
    return SimCLRModel(config).eval()


def test_last_stage_globally_pooled_is_h():
    model, x = tiny_simclr(), torch.rand(3, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(stage_features(model, x, [-1], 1), model.get_representation(x))


def test_stage_maps_are_pooled_to_the_grid_and_concatenated():
    model, x = tiny_simclr(), torch.rand(3, 1, 16, 16)
    with torch.no_grad():
        # Two blocks per stage: the stages end at blocks 1, 3 and 5, with 16x16, 8x8 and 4x4 maps.
        h = model.encoder.stem(x)
        maps = []
        for i, block in enumerate(model.encoder.blocks):
            h = block(h)
            if i % 2 == 1:
                maps.append(h)
        got = stage_features(model, x, [0, -1], 4)
        # Stage 0: 16x16 averaged over 4x4 cells -> 4 x 4 x 4 channels; the last stage is already 4x4: kept whole.
        want = torch.cat([F.avg_pool2d(maps[0], 4).flatten(1), maps[2].flatten(1)], dim=1)
        assert got.shape == (3, 4 * 16 + 16 * 16)
        torch.testing.assert_close(got, want)
        # A grid larger than a map keeps the map as it is (no upsampling).
        assert stage_features(model, x, [-1], 8).shape == (3, 16 * 16)


def test_extract_features_reads_stages_in_batches():
    model = tiny_simclr()
    pixels = torch.randint(0, 256, (5, 1, 16, 16), dtype=torch.uint8).numpy()
    whole = extract_features(model, pixels, batch_size=5, stages=[-2, -1], grid=2)
    assert whole.shape == (5, 8 * 4 + 16 * 4)
    torch.testing.assert_close(torch.from_numpy(extract_features(model, pixels, batch_size=2, stages=[-2, -1], grid=2)),
                               torch.from_numpy(whole))  # fmt: skip


class PixelsOnly(torch.nn.Module):
    """A model with a representation but no small ResNet."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(16 * 16, 3)

    def get_representation(self, x):
        return self.linear(x.flatten(1))


def test_bad_stage_settings_name_the_key():
    x = torch.rand(2, 1, 16, 16)
    with pytest.raises(UserError, match=r"feature_stages \[3\]: the encoder has 3 stages"):
        stage_features(tiny_simclr(), x, [3], 1)
    with pytest.raises(UserError, match="small ResNet"):
        stage_features(PixelsOnly(), x, [-2, -1], 2)
    with pytest.raises(UserError, match="feature_grid must be at least 1"):
        ProbeConfig(feature_grid=0).validate()
    with pytest.raises(UserError, match="feature_stages is empty"):
        ProbeConfig(feature_stages=[]).validate()


def test_stage_probe_also_reports_h_as_model_h():
    model = tiny_simclr(blocks_per_stage=1)
    dataset = load_image_dataset(ImageDataConfig(name="digits", image_size=16), dataset_limit=400)
    common = dict(labels_per_class=[2], seeds=1, baselines=[], tsne=False, kmeans_nmi=False)
    h_results, h_features = evaluate_representations(model, dataset, ProbeConfig(**common))
    cfg = ProbeConfig(**common, feature_stages=[-2, -1], feature_grid=2)
    results, features = evaluate_representations(model, dataset, cfg)
    assert set(features) == {"model", "model_h"} and set(h_features) == {"model"}
    assert features["model"][0].shape[1] == 8 * 4 + 16 * 4
    # model_h is exactly what the default probe calls model.
    for key in ("linear_probe/{}/2_per_class", "linear_probe/{}/all", "knn/{}"):
        assert results[key.format("model_h")] == h_results[key.format("model")]
    assert "[-2, -1]" in features_note(cfg) and features_note(ProbeConfig()) == ""
