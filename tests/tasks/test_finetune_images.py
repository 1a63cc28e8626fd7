"""The labelled subset of semi-supervised fine-tuning: stratified, seeded, the probe's own subset."""

import numpy as np

from hf_replearn.evaluation.probe import fraction_subset
from hf_replearn.tasks.finetune_images import labelled_subset


def test_the_subset_is_class_balanced_seeded_and_the_probes():
    labels = np.repeat(np.arange(10), 600)[np.random.default_rng(1).permutation(6000)]
    idx = labelled_subset(labels, 0.01, seed=3)
    assert np.bincount(labels[idx]).tolist() == [6] * 10  # equal classes: the same count from each
    assert np.array_equal(idx, labelled_subset(labels, 0.01, seed=3))  # same seed, same indices
    assert np.array_equal(idx, fraction_subset(labels, 0.01, seed=3))  # the probe's label_fractions subset
    assert not np.array_equal(idx, labelled_subset(labels, 0.01, seed=4))
    assert len(np.unique(idx)) == len(idx) == 60
    assert np.array_equal(labelled_subset(labels, 1.0, seed=0), np.arange(6000))


def test_unequal_classes_keep_their_proportions_and_at_least_one_each():
    labels = np.array([0] * 200 + [1] * 100 + [2] * 3)
    idx = labelled_subset(labels, 0.1, seed=0)
    assert np.bincount(labels[idx]).tolist() == [20, 10, 1]


def test_the_probe_head_classifies_as_the_logistic_regression_on_h():
    import torch
    from sklearn.linear_model import LogisticRegression

    from hf_replearn.models.image_classification import ImageClassifierConfig, ImageEncoderForImageClassification
    from hf_replearn.tasks.finetune_images import fit_head_by_probe

    torch.manual_seed(0)
    model = ImageEncoderForImageClassification(ImageClassifierConfig(num_channels=1, image_size=8, widths=[4, 8],
                                                                     stem_stride=1, num_labels=4))  # fmt: skip
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(60, 1, 8, 8), dtype=np.uint8)
    labels = np.arange(60) % 4
    pixels[labels == 1, :, :4] //= 4  # classes that differ in brightness, so the probe has something to find
    pixels[labels == 2, :, 4:] //= 4
    fit_head_by_probe(model, pixels, labels)
    assert model.training  # left as it was
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(pixels).float() / 255
        logits = model(pixel_values=x).logits.numpy()
        h = model.encoder(x).numpy()
    reference = LogisticRegression(max_iter=1000).fit(h, labels)
    np.testing.assert_allclose(logits, reference.decision_function(h), atol=1e-4)
    assert (logits.argmax(1) == reference.predict(h)).all()

    two = ImageEncoderForImageClassification(ImageClassifierConfig(num_channels=1, image_size=8, widths=[4, 8],
                                                                   stem_stride=1, num_labels=3))  # fmt: skip
    before = two.classifier[-1].weight[2].clone()
    keep = labels < 2  # two classes present, the third absent: its row keeps its initialisation
    fit_head_by_probe(two, pixels[keep], labels[keep])
    two.eval()
    with torch.no_grad():
        logits = two(pixel_values=torch.from_numpy(pixels[keep]).float() / 255).logits.numpy()
        h = two.encoder(torch.from_numpy(pixels[keep]).float() / 255).numpy()
    binary = LogisticRegression(max_iter=1000).fit(h, labels[keep])
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0], binary.decision_function(h), atol=1e-4)
    assert torch.equal(two.classifier[-1].weight[2], before)
