import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from transformers import AutoModel

import hf_replearn.models  # noqa: F401
from hf_replearn.losses.beta_vae import BetaVAELoss, gaussian_kl
from hf_replearn.models.autoencoder import AutoencoderConfig, AutoencoderModel
from hf_replearn.models.beta_vae import BetaVAEConfig, BetaVAEModel


def test_linear_autoencoder_spans_the_pca_subspace():
    """Baldi & Hornik 1989: the optimum of a linear AE with squared loss spans the top-k principal subspace."""
    g = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(16, 3, generator=g))[0]  # (16, 3)
    x = (torch.randn(300, 3, generator=g) * torch.tensor([3.0, 2.0, 1.5])) @ basis.T + 0.1 * torch.randn(300, 16, generator=g)
    x = x.view(300, 1, 4, 4)
    torch.manual_seed(0)
    model = AutoencoderModel(AutoencoderConfig(num_channels=1, image_size=4, latent_dim=3, architecture="linear",
                                               reconstruction="gaussian"))  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=5e-2)
    for _ in range(250):
        loss = model(x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    decoder = model.decoder[0].weight.detach().numpy()  # (16, 3): its columns span the learned subspace
    pcs = PCA(3).fit(x.view(300, 16).numpy()).components_.T  # (16, 3)
    # cosines of the principal angles between the subspaces = singular values of Q_a^T Q_b
    cosines = np.linalg.svd(np.linalg.qr(decoder)[0].T @ pcs, compute_uv=False)
    assert cosines.min() > 0.999


def test_conv_autoencoder_learns_and_round_trips(tmp_path):
    torch.manual_seed(0)
    config = AutoencoderConfig(num_channels=1, image_size=7, widths=[8, 16], latent_dim=4)
    model = AutoencoderModel(config)
    x = torch.rand(8, 1, 7, 7).round()
    out = model(x)
    assert out.reconstructions.shape == x.shape and out.representations.shape == (8, 4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = out.loss.item()
    for _ in range(20):
        loss = model(x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first
    model.eval().save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(loaded) is AutoencoderModel
    torch.testing.assert_close(loaded.decode(loaded.get_representation(x)), model.decode(model.get_representation(x)))


def test_beta_vae_loss_against_formulas():
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, np.log(4.0)]])
    # KL = 1/2 (1 + 1 - 0 - 1) + 1/2 (0 + 4 - log 4 - 1)
    assert gaussian_kl(mu, logvar).item() == pytest.approx(0.5 + 0.5 * (3 - np.log(4)), rel=1e-6)
    logits, target = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    loss, recon, kl = BetaVAELoss(beta=4.0)(logits, target, mu, logvar)
    assert recon.item() == pytest.approx(4 * np.log(2), rel=1e-6)  # 4 pixels, p = 0.5 each
    assert loss.item() == pytest.approx(recon.item() + 4 * kl.item(), rel=1e-6)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        BetaVAELoss(beta=-1)


def test_beta_vae_learns_and_round_trips(tmp_path):
    torch.manual_seed(0)
    model = BetaVAEModel(BetaVAEConfig(num_channels=1, image_size=8, widths=[8, 16], latent_dim=3, beta=2.0))
    x = torch.rand(8, 1, 8, 8).round()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        out = model(x)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert out.kl.item() >= 0 and out.logvar.shape == (8, 3)
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5])
    model.eval().save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(loaded) is BetaVAEModel and loaded.config.beta == 2.0
    torch.testing.assert_close(loaded.get_representation(x), model.get_representation(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        BetaVAEConfig(beta=-0.5)
