import pytest
import torch
from transformers import AutoModel

import hf_replearn.models  # noqa: F401
from hf_replearn.models.rotation import RotationConfig, RotationModel, rotate_batch


def test_rotation_labels_against_explicit_rotations():
    x = torch.arange(2 * 9.0).view(2, 1, 3, 3)
    rotated, labels = rotate_batch(x)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    torch.testing.assert_close(rotated[0, 0], x[0, 0])
    # 90 degrees counter-clockwise: the first row becomes the first column read bottom-up
    assert rotated[2, 0].tolist() == [[2, 5, 8], [1, 4, 7], [0, 3, 6]]
    assert rotated[4, 0].tolist() == [[8, 7, 6], [5, 4, 3], [2, 1, 0]]  # 180
    _, two = rotate_batch(x, 2)
    assert two.tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="square"):
        rotate_batch(torch.rand(1, 1, 4, 5))


def test_forward_round_trip_and_learning(tmp_path):
    torch.manual_seed(0)
    model = RotationModel(RotationConfig(num_channels=1, image_size=8, widths=[8, 16]))
    x = torch.rand(8, 1, 8, 8)
    x[:, :, :3] = 1.0  # a bright top band makes the rotation learnable
    out = model(x)
    assert out.logits.shape == (32, 4) and out.representations.shape == (8, 16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = out.loss.item()
    for _ in range(15):
        loss = model(x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
    model.eval().save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, RotationModel)
    torch.testing.assert_close(loaded.get_representation(x), model.get_representation(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match="num_rotations"):
        RotationConfig(num_rotations=3)
