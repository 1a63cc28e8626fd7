"""Configuration of an image classifier: the toolkit's image encoder f with a classification head on h = f(x).

The start point of semi-supervised fine-tuning (Chen et al. 2020, SimCLR, Section 6 and Appendix B.5): the
encoder of a pretrained image run (any family of this toolkit) or a transformers vision backbone, with a new
head, trained end to end on a few labels. ``num_labels``, ``id2label`` and ``label2id`` are
``PreTrainedConfig``'s own.
"""

from __future__ import annotations

from hf_replearn.models.image_encoder import ImageEncoderConfig


class ImageClassifierConfig(ImageEncoderConfig):
    """Encoder f (see `ImageEncoderConfig`) and a head mapping h to class logits.

    Args (besides the encoder's, see `ImageEncoderConfig`):
        classifier_hidden_dim (`int`, *optional*): hidden width of a 2-layer MLP head (Linear, ReLU, Linear);
            empty: one linear layer on h, as SimCLR fine-tunes.
        classifier_dropout (`float`, defaults to 0.0): dropout on h before the head, in [0, 1).
    """

    model_type = "image_encoder_classifier"

    def __init__(self, classifier_hidden_dim: int | None = None, classifier_dropout: float = 0.0, **kwargs):
        if classifier_hidden_dim is not None and classifier_hidden_dim < 1:
            raise ValueError(f"classifier_hidden_dim must be a positive width or empty, got {classifier_hidden_dim}")
        if not 0.0 <= classifier_dropout < 1.0:
            raise ValueError(f"classifier_dropout must lie in [0, 1), got {classifier_dropout}")
        self.classifier_hidden_dim = classifier_hidden_dim
        self.classifier_dropout = classifier_dropout
        super().__init__(**kwargs)
