"""Configuration of relative patch position prediction (Doersch, Gupta, Efros, ICCV 2015)."""

from __future__ import annotations

from hf_replearn.models.image_encoder import ImageEncoderConfig


class ContextConfig(ImageEncoderConfig):
    """Predict where a patch lies among the 8 neighbours of a centre patch, from f(centre) and f(neighbour).

    A 3x3 grid of ``patch_size`` patches separated by ``gap`` pixels is placed at a random offset in the
    image; the gap keeps low-level cues (continuing edges, textures) from solving the task trivially
    (the paper's gaps and jitter). The grid must fit: 3 * patch_size + 2 * gap <= image_size.

    Args (besides the encoder's, see `ImageEncoderConfig`):
        patch_size (`int`, defaults to 8): side of each square patch.
        gap (`int`, defaults to 2): pixels between neighbouring patches.
        jitter (`int`, defaults to 1): each patch moves by up to this many pixels, within the gap.
        classifier_hidden_dim (`int`, defaults to 256): hidden width of the pair classifier (fc6-fc8 of the paper).
    """

    model_type = "context"

    def __init__(self, patch_size: int = 8, gap: int = 2, jitter: int = 1, classifier_hidden_dim: int = 256, **kwargs):
        super().__init__(**kwargs)
        if patch_size < 1 or gap < 0 or jitter < 0:
            raise ValueError(f"patch_size must be >= 1 and gap, jitter >= 0; got {patch_size}, {gap}, {jitter}")
        if 2 * jitter > gap:
            raise ValueError(f"jitter={jitter} would let neighbouring patches overlap; use jitter <= gap / 2 = {gap // 2}")
        if 3 * patch_size + 2 * gap > self.image_size:
            raise ValueError(
                f"a 3x3 grid of {patch_size}-pixel patches with {gap}-pixel gaps needs {3 * patch_size + 2 * gap} "
                f"pixels, but images are {self.image_size}; use patch_size <= {(self.image_size - 2 * gap) // 3} "
                "or a smaller gap, or larger images (data.image_size)"
            )
        self.patch_size = patch_size
        self.gap = gap
        self.jitter = jitter
        self.classifier_hidden_dim = classifier_hidden_dim
