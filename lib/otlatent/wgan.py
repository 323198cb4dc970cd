r"""WGAN-GP (Gulrajani et al., 2017): a critic without batch norm, the gradient penalty, n_critic critic steps.

The critic :math:`D` estimates the Wasserstein-1 distance through the Kantorovich–Rubinstein dual,
:math:`W_1(P_r, P_g) = \sup_{\lVert D\rVert_L \le 1} \mathbb E_{P_r}[D(x)] - \mathbb E_{P_g}[D(\tilde x)]`, with the
Lipschitz constraint relaxed to a penalty on the gradient norm at random interpolates (for the optimal critic the
gradient has norm 1 almost everywhere between the two laws):

.. math::

    L_D = \mathbb E[D(\tilde x)] - \mathbb E[D(x)] + \lambda\, \mathbb E\bigl[(\lVert \nabla_{\hat x} D(\hat x)\rVert_2
    - 1)^2\bigr], \qquad \hat x = \epsilon x + (1 - \epsilon)\tilde x,\ \epsilon \sim U[0, 1]

per sample, and the generator minimises :math:`L_G = -\mathbb E[D(G(z))]`. Algorithm 1's defaults: :math:`\lambda =
10`, ``n_critic`` = 5 critic steps per generator step, Adam with learning rate 1e-4 and betas (0, 0.9). The critic
is the DCGAN discriminator without batch norm (the penalty is per sample, which batch norm would break); the
generator is :class:`otlatent.dcgan.Generator`, so every tool of notebooks 05-06 applies to it.

Training uses the shared run machinery (:mod:`otlatent.runs`): the critic batches and latents of generator
iteration ``i`` are seeded from ``i``, so a resumed run ends with bit-identical weights.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data import to_float
from .dcgan import GANConfig, GANRun, Generator, _levels, calibrate_batchnorm, dcgan_init, load_generator
from .priors import get_prior
from .runs import Training, batch_indices, finished_run, iteration_seed
from .runtime import load_checkpoint

#: Offset of the seeds of the generator steps' latents (the critic steps use ``iteration_seed(seed, step)``).
GENERATOR_STREAM = 1_000_003

__all__ = [
    "Critic",
    "gradient_penalty",
    "critic_loss",
    "WGANConfig",
    "train_wgan_gp",
    "load_wgan_gp",
    "kept_generators",
]


class Critic(nn.Module):
    """The WGAN-GP critic: the DCGAN discriminator's 4x4 stride-2 convolutions and LeakyReLU(0.2), **no batch norm**,
    one unbounded score per image (no sigmoid).
    """

    def __init__(self, nc: int = 3, width: int = 64, resolution: int = 32):
        super().__init__()
        levels = _levels(resolution)
        ch = width
        layers: list[nn.Module] = [nn.Conv2d(nc, ch, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(levels - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0)]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> tuple:
    r"""``(penalty, grad_norms)``: :math:`\frac1n\sum_i (\lVert\nabla_{\hat x} D(\hat x_i)\rVert_2 - 1)^2` at
    :math:`\hat x_i = \epsilon_i x_i + (1 - \epsilon_i)\tilde x_i` (``eps`` of shape (N,)), differentiable in the
    critic's weights (``create_graph``), and the per-sample gradient norms (detached).
    """
    e = eps.view(-1, *([1] * (real.ndim - 1))).to(real.dtype)
    x_hat = (e * real + (1 - e) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(dim=1)
    return (norms - 1).pow(2).mean(), norms.detach()


def critic_loss(d_real: torch.Tensor, d_fake: torch.Tensor, penalty: torch.Tensor, lam: float) -> torch.Tensor:
    r""":math:`L_D = \overline{D(\tilde x)} - \overline{D(x)} + \lambda \cdot \text{penalty}`."""
    return d_fake.mean() - d_real.mean() + lam * penalty


@dataclasses.dataclass(frozen=True)
class WGANConfig(GANConfig):
    """A WGAN-GP run: :class:`~otlatent.dcgan.GANConfig`'s fields (here latent 128, lr 1e-4, beta1 0, as in
    the WGAN-GP paper) and the penalty weight ``lam``, ``n_critic`` critic steps per generator iteration and Adam's
    ``beta2``. ``iterations`` counts generator iterations.
    """

    nz: int = dataclasses.field(default=128, kw_only=True)
    lr: float = dataclasses.field(default=1e-4, kw_only=True)
    beta1: float = 0.0
    beta2: float = 0.9
    lam: float = 10.0
    n_critic: int = 5

    def __post_init__(self):
        super().__post_init__()
        if not (isinstance(self.n_critic, int) and self.n_critic >= 1):
            raise ValueError(f"n_critic must be a positive integer, got {self.n_critic!r}")
        if not 0 < self.lam < float("inf"):
            raise ValueError(f"lam must be positive and finite, got {self.lam!r}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError(f"Adam's betas must be in [0, 1), got {self.beta1!r}, {self.beta2!r}")

    @property
    def name(self) -> str:
        return (
            f"wgangp_{self.dataset}_{self.prior}_nz{self.nz}_{self.resolution}px_{self.preset}_seed{self.seed}"
            f"{self.precision_suffix}"
        )


def train_wgan_gp(
    images,
    config: WGANConfig,
    run_dir: Path | None = None,
    device: str = "cpu",
    checkpoint_minutes: float = 3.0,
    stop_after: int | None = None,
    progress: bool = True,
    calibration: int = 4096,
    keep: int = 4,
) -> GANRun:
    r"""Train (or resume, or reload) a WGAN-GP on ``images``; returns a :class:`~otlatent.dcgan.GANRun` whose
    generator has calibrated batch norm (:func:`~otlatent.dcgan.calibrate_batchnorm`), as a DCGAN's.

    Each generator iteration ``i`` takes ``n_critic`` critic steps, step ``j`` on batch
    :func:`~otlatent.runs.batch_indices` ``(i n_critic + j)`` with its own latents and interpolation weights, then
    one generator step. ``history``: ``loss_d`` (the critic's loss), ``loss_g``, ``wasserstein`` (the critic's
    estimate :math:`\overline{D(x)} - \overline{D(\tilde x)}` at the last critic step) and ``grad_norm`` (the mean
    gradient norm at the interpolates). One process only (no torchrun).

    The generator's weights are also kept at ``keep`` evenly spaced points of training (the last one the end,
    before batch-norm calibration), for :func:`kept_generators`: an epoch sweep of the same run.

    Raises
    ------
    TrainingDiverged
        When a loss becomes NaN or infinite.
    """
    model_path, ckpt_path, finished = finished_run(config, images.images_u8, run_dir, load_wgan_gp, device)
    if finished is not None:
        return finished
    prior = get_prior(config.prior)
    torch.manual_seed(config.seed)
    G = Generator(config.nz, config.nc, config.width, config.resolution).to(device)
    D = Critic(config.nc, config.width, config.resolution).to(device)
    betas = (float(config.beta1), float(config.beta2))  # torch refuses an int beside a float
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr, betas=betas)
    parts = {"G": G, "D": D, "opt_g": opt_g, "opt_d": opt_d}
    run = Training(
        config,
        parts,
        ("loss_d", "loss_g", "wasserstein", "grad_norm"),
        ckpt_path,
        device,
        checkpoint_minutes,
        stop_after,
        progress,
        extra=("kept",),
    )
    kept = run.extra["kept"]
    keep_at = set(np.linspace(0, config.iterations, keep + 1).round().astype(int)[1:].tolist()) if keep else set()
    data_u8 = torch.from_numpy(images.images_u8)
    bs = config.batch_size
    G.train()
    for i in run.iterations():
        for j in range(config.n_critic):
            step = i * config.n_critic + j
            real = to_float(data_u8[torch.from_numpy(batch_indices(len(data_u8), bs, config.seed, step))].to(device))
            seed = iteration_seed(config.seed, step)
            z = prior.sample(bs, config.nz, seed=seed, device=device)
            eps = torch.rand(bs, generator=torch.Generator().manual_seed(seed + 1)).to(device)
            with torch.no_grad():
                fake = G(z)
            d_real, d_fake = D(real), D(fake)
            penalty, norms = gradient_penalty(D, real, fake, eps)
            loss_d = critic_loss(d_real, d_fake, penalty, config.lam)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        z = prior.sample(bs, config.nz, seed=iteration_seed(config.seed + GENERATOR_STREAM, i), device=device)
        loss_g = -D(G(z)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        run.record(
            i,
            show=("wasserstein",),
            loss_d=loss_d.item(),
            loss_g=loss_g.item(),
            wasserstein=(d_real.mean() - d_fake.mean()).item(),
            grad_norm=norms.mean().item(),
        )
        if i + 1 in keep_at and not any(k[0] == i + 1 for k in kept):
            kept.append((i + 1, {k: v.detach().clone() for k, v in G.state_dict().items()}))
    done, hist = run.finish()
    if run.complete:
        calibrate_batchnorm(G, prior, n=calibration, seed=config.seed)
        run.save_model(model_path, {"G": G}, hist, images, device, snapshots=[], kept=kept)
    G.eval()
    return GANRun(config, G, D, hist, [], done, run.seconds, model_path)


def load_wgan_gp(path: str | Path, device: str = "cpu") -> GANRun:
    """Reload a model saved by :func:`train_wgan_gp` (generator in eval mode; the critic is not kept)."""
    return load_generator(path, device, config_class=WGANConfig)


def kept_generators(run: GANRun, calibration: int = 4096) -> dict[int, GANRun]:
    """The generators kept along the training of ``run`` (a finished WGAN-GP), ``{iteration: GANRun}``, each with its
    batch norm calibrated on the prior as the final one is (:func:`~otlatent.dcgan.calibrate_batchnorm`), in eval
    mode. The last one is the final generator up to that calibration.
    """
    state = load_checkpoint(run.path, "cpu")
    device = next(run.generator.parameters()).device
    out = {}
    for iteration, weights in sorted(state.get("kept", [])):
        G = Generator(run.config.nz, run.config.nc, run.config.width, run.config.resolution)
        G.load_state_dict(weights)
        G = calibrate_batchnorm(G.to(device), run.prior, n=calibration, seed=run.config.seed).eval()
        history = {k: v[:iteration] for k, v in run.history.items()}
        out[iteration] = GANRun(run.config, G, None, history, [], iteration, float("nan"), run.path)
    return out
