"""What the two-view models' tests share."""

import torch


def losses_on_noisy_views(model, steps: int = 15, lr: float = 1e-2) -> list[float]:
    """The loss of each of ``steps`` Adam steps on two noisy views of the same 16 random 8x8 images (seeded)."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.rand(16, 1, 8, 8)
    noisy = lambda: (x + 0.05 * torch.randn_like(x)).clamp(0, 1)  # noqa: E731
    losses = []
    for _ in range(steps):
        loss = model(noisy(), noisy()).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
