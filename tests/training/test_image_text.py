"""ImageTextTrainer's loss (losses/clip.py) is CLIPModel's own symmetric loss on one process."""

import torch
from transformers import CLIPConfig, CLIPModel, TrainingArguments

from hf_replearn.training.image_text import ImageTextTrainer


def test_compute_loss_equals_clip_models_own_loss(tmp_path):
    torch.manual_seed(0)
    tiny = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    config = CLIPConfig(text_config=dict(vocab_size=50, max_position_embeddings=8, eos_token_id=3, **tiny),
                        vision_config=dict(image_size=16, patch_size=8, **tiny), projection_dim=16)  # fmt: skip
    model = CLIPModel(config)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    trainer = ImageTextTrainer(model=model, args=args, augmentation=torch.nn.Identity())
    ids = torch.randint(5, 50, (6, 8))
    ids[:, -1] = 3  # [SEP], where the text tower pools
    inputs = {"pixel_values": torch.rand(6, 3, 16, 16), "input_ids": ids, "attention_mask": torch.ones_like(ids)}
    ours = trainer.compute_loss(model, inputs)
    theirs = model(**inputs, return_loss=True).loss
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    ours.backward()
    assert model.logit_scale.grad is not None and model.logit_scale.grad.abs() > 0  # the temperature learns
