"""WGAN-GP: the gradient penalty against a closed form, the critic loss's signs, resumable training (smoke sizes)."""

import numpy as np
import pytest
import torch

from otlatent import data
from otlatent.wgan import (
    Critic,
    WGANConfig,
    critic_loss,
    gradient_penalty,
    kept_generators,
    load_wgan_gp,
    train_wgan_gp,
)


class _Linear(torch.nn.Module):
    """D(x) = <w, x>: its gradient is w everywhere, so the penalty is (||w|| - 1)^2 exactly."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x):
        return (x.flatten(1) * self.w).sum(1)


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    w = torch.full((12,), 0.5)  # ||w|| = sqrt(3)
    critic = _Linear(w)
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    penalty, norms = gradient_penalty(critic, real, fake, torch.rand(5))
    assert torch.allclose(norms, torch.full((5,), 3**0.5))
    assert penalty.item() == pytest.approx((3**0.5 - 1) ** 2, rel=1e-6)
    penalty.backward()  # differentiable in the critic's weights: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert torch.allclose(critic.w.grad, 2 * (3**0.5 - 1) * w / 3**0.5, atol=1e-6)


def test_gradient_penalty_is_taken_at_the_interpolates():
    # D(x) = ||x||^2 / 2 has gradient x: at eps = 1 the norms are the real images', at eps = 0 the fakes'
    critic = lambda x: 0.5 * x.flatten(1).pow(2).sum(1)  # noqa: E731
    real, fake = torch.randn(4, 1, 3, 3), torch.randn(4, 1, 3, 3)
    _, at_real = gradient_penalty(critic, real, fake, torch.ones(4))
    _, at_fake = gradient_penalty(critic, real, fake, torch.zeros(4))
    assert torch.allclose(at_real, real.flatten(1).norm(dim=1)) and torch.allclose(at_fake, fake.flatten(1).norm(dim=1))


def test_critic_loss_signs():
    high, low = torch.full((4,), 2.0), torch.full((4,), -1.0)
    # a critic that scores real above fake has a negative loss (minus the Wasserstein estimate 3)
    assert critic_loss(high, low, torch.tensor(0.0), 10.0).item() == pytest.approx(-3.0)
    assert critic_loss(high, low, torch.tensor(0.1), 10.0).item() == pytest.approx(-2.0)


def test_critic_has_no_batch_norm_and_one_score_per_image():
    c = Critic(3, 8, 32)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in c.modules())
    assert c(torch.randn(3, 3, 32, 32)).shape == (3,)


def _config(**kw):
    base = dict(
        dataset="synthetic",
        prior="gaussian",
        resolution=32,
        nc=3,
        nz=16,
        width=8,
        batch_size=8,
        iterations=4,
        n_critic=2,
        seed=1,
        preset="smoke",
    )
    return WGANConfig(**{**base, **kw})


def test_config_defaults_and_validation():
    c = _config()
    assert (c.lr, c.beta1, c.beta2, c.lam) == (1e-4, 0.0, 0.9, 10.0)
    assert (
        WGANConfig(dataset="x", prior="gaussian").nz == 128 and WGANConfig(dataset="x", prior="gaussian").n_critic == 5
    )
    assert c.name == "wgangp_synthetic_gaussian_nz16_32px_smoke_seed1"
    for bad in (dict(n_critic=0), dict(lam=0.0), dict(beta2=1.0), dict(prior="cauchy-ish")):
        with pytest.raises(ValueError):
            _config(**bad)


def test_interrupted_run_resumes_to_identical_weights(tmp_path):
    images = data.load("synthetic", 32, n=64)
    cfg = _config()
    straight = train_wgan_gp(images, cfg, tmp_path / "a", progress=False, calibration=64)
    part = train_wgan_gp(images, cfg, tmp_path / "b", stop_after=2, progress=False, calibration=64)
    assert part.iteration == 2 and not (tmp_path / "b" / "model.pt").exists()
    resumed = train_wgan_gp(images, cfg, tmp_path / "b", progress=False, calibration=64)
    for (k, a), (_, b) in zip(straight.generator.state_dict().items(), resumed.generator.state_dict().items()):
        assert torch.equal(a, b), k
    for k in ("loss_d", "loss_g", "wasserstein", "grad_norm"):
        np.testing.assert_array_equal(straight.history[k], resumed.history[k])
    loaded = load_wgan_gp(tmp_path / "a" / "model.pt")
    z = torch.randn(3, 16)
    assert loaded.config == cfg and torch.equal(loaded.generate(z), straight.generate(z))
    again = train_wgan_gp(images, cfg, tmp_path / "a", progress=False, calibration=64)
    assert again.discriminator is None, "a finished model is reloaded, not retrained"
    # the generators kept along training survive the interruption: the same weights at the same iterations
    kept_a, kept_b = (
        kept_generators(loaded, calibration=64),
        kept_generators(load_wgan_gp(tmp_path / "b" / "model.pt"), 64),
    )
    assert list(kept_a) == list(kept_b) == [1, 2, 3, 4]
    for it in kept_a:
        assert torch.equal(kept_a[it].generate(z), kept_b[it].generate(z)) and kept_a[it].iteration == it
    assert torch.equal(kept_a[4].generate(z), loaded.generate(z)), "the last kept generator is the final one"
    assert not torch.equal(kept_a[1].generate(z), loaded.generate(z))


def test_the_critic_learns_a_positive_wasserstein_estimate(tmp_path):
    images = data.load("synthetic", 32, n=128)
    run = train_wgan_gp(images, _config(iterations=40, n_critic=5, lr=1e-3), tmp_path, progress=False, calibration=64)
    w = run.history["wasserstein"]
    assert w[-10:].mean() > 0 and w[-10:].mean() > w[:3].mean()


def test_train_job_trains_a_wgan_gp_for_side_by_side_workers(tmp_path):
    from otlatent import trained

    images = data.load("synthetic", 32, n=32)
    path = trained.train_job(_config(iterations=2), images, tmp_path, progress=False, calibration=16)
    assert load_wgan_gp(path).iteration == 2
