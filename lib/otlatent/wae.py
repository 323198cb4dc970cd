r"""Wasserstein auto-encoders (Tolstikhin et al., ICLR 2018): WAE-MMD and WAE-GAN, trained resumably.

Objective
---------
A deterministic encoder :math:`Q(x) = \tilde z` and a decoder :math:`G(z)` minimise, over a batch,

.. math::

    \frac1n \sum_{i=1}^n c\bigl(x_i, G(Q(x_i))\bigr) + \lambda\, \mathcal D_Z(Q_Z, P_Z),
    \qquad c(x, y) = \lVert x - y \rVert^2,

with the squared error summed over pixel values in [0, 1] (the report's cost), the prior
:math:`P_Z = \mathcal N(0, I_{d_z})` and :math:`Q_Z` the law of the codes (the aggregated posterior).

**WAE-MMD** takes for :math:`\mathcal D_Z` the unbiased estimate of the squared maximum mean discrepancy between
prior draws :math:`z_1..z_n` and codes :math:`\tilde z_1..\tilde z_n`,

.. math::

    \frac{1}{n(n-1)}\sum_{l \ne j} k(z_l, z_j) + \frac{1}{n(n-1)}\sum_{l \ne j} k(\tilde z_l, \tilde z_j)
    - \frac{2}{n^2}\sum_{l, j} k(z_l, \tilde z_j),

with the inverse multiquadratic kernel :math:`k(x, y) = C / (C + \lVert x - y\rVert^2)` summed over the scales
:math:`C = 2 d_z \sigma_p^2 s`, :math:`s \in \{0.1, 0.2, 0.5, 1, 2, 5, 10\}` (:func:`imq_mmd2`).

**WAE-GAN** takes an adversary :math:`D(z) \in (0, 1)` in latent space (an MLP of four hidden layers): :math:`D`
ascends :math:`\frac1n\sum_i \log D(z_i) + \log(1 - D(\tilde z_i))`, and the encoder and decoder descend
:math:`c - \lambda \log D(\tilde z)` (:func:`adversary_losses`).

Training uses the shared run machinery (:mod:`otlatent.runs`): the batch and prior draws of iteration ``i`` are
seeded by :func:`~otlatent.runs.batch_indices` and :func:`~otlatent.runs.iteration_seed`, checkpoints are
atomic, a resumed run ends with bit-identical weights, and a finished ``model.pt`` is reloaded instead of
retrained.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import distributed
from .data import as_float, to_float
from .precision import autocast, grad_scaler, memory_format
from .runs import ModelConfig, Training, batch_indices, check_finite, finished_run, iteration_seed
from .runtime import load_checkpoint
from .vae import decode_batches, side_sizes

__all__ = [
    "IMQ_SCALES",
    "OBJECTIVES",
    "imq_kernel",
    "imq_mmd2",
    "adversary_losses",
    "squared_error_cost",
    "WAE",
    "LatentAdversary",
    "WAEConfig",
    "WAERun",
    "train_wae",
    "load_wae",
]

#: The scales s of the WAE authors' IMQ kernel sum: C = 2 d_z sigma_p^2 s.
IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
#: The two latent penalties: "mmd" (WAE-MMD) and "gan" (WAE-GAN).
OBJECTIVES = ("mmd", "gan")


def imq_kernel(x: torch.Tensor, y: torch.Tensor, c: float) -> torch.Tensor:
    r"""The inverse multiquadratic kernel matrix :math:`k(x_l, y_j) = C / (C + \lVert x_l - y_j\rVert^2)`."""
    return c / (c + torch.cdist(x, y).pow(2))


def imq_mmd2(x: torch.Tensor, y: torch.Tensor, prior_var: float = 1.0, scales=IMQ_SCALES) -> torch.Tensor:
    r"""Unbiased estimate of :math:`\mathrm{MMD}^2(P_x, P_y)` with the IMQ kernel summed over ``scales``.

    .. math::

        \sum_s \Bigl[\tfrac{1}{m(m-1)}\textstyle\sum_{l\ne j} k_s(x_l, x_j) + \tfrac{1}{n(n-1)}\sum_{l\ne j}
        k_s(y_l, y_j) - \tfrac{2}{mn}\sum_{l,j} k_s(x_l, y_j)\Bigr],
        \qquad k_s(a, b) = \frac{C_s}{C_s + \lVert a - b\rVert^2},\ C_s = 2 d\, \sigma_p^2 s.

    ``x`` (m, d) and ``y`` (n, d), m, n >= 2. A tensor (differentiable); it can be slightly negative.
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have shapes (m, d) and (n, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 samples on each side, got {m} and {n}")
    d2xx, d2yy, d2xy = torch.cdist(x, x).pow(2), torch.cdist(y, y).pow(2), torch.cdist(x, y).pow(2)
    total = x.new_zeros(())
    for s in scales:
        c = 2.0 * x.shape[1] * prior_var * s
        kxx, kyy = c / (c + d2xx), c / (c + d2yy)
        total = total + (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
        total = total + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
        total = total - 2.0 * (c / (c + d2xy)).mean()
    return total


def adversary_losses(logits_prior: torch.Tensor, logits_codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""WAE-GAN's two losses from the adversary's logits :math:`D = \sigma(\text{logit})`.

    Returns ``(adversary, penalty)``: the adversary minimises
    :math:`-\frac1n\sum_i [\log D(z_i) + \log(1 - D(\tilde z_i))]` (prior draws are "real"), the encoder's penalty
    is :math:`-\frac1n\sum_i \log D(\tilde z_i)` (small when the codes look like prior draws).
    """
    ones, zeros = torch.ones_like(logits_prior), torch.zeros_like(logits_codes)
    adversary = F.binary_cross_entropy_with_logits(logits_prior, ones) + F.binary_cross_entropy_with_logits(
        logits_codes, zeros
    )
    penalty = F.binary_cross_entropy_with_logits(logits_codes, torch.ones_like(logits_codes))
    return adversary, penalty


def squared_error_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Per-image :math:`c(x, y) = \lVert x - y\rVert^2` over pixel values in [0, 1], for images in [-1, 1]
    (a quarter of the squared error in [-1, 1] units). Shape (N,).
    """
    return 0.25 * (x - y).flatten(1).pow(2).sum(1)


class WAE(nn.Module):
    r"""The report's convolutional auto-encoder, scaled by ``width``, for square ``resolution`` px images in [-1, 1].

    Encoder: 4x4 stride-2 convolutions with ``width``, ``2 width``, ... channels, each followed by batch norm and
    ReLU, down to a side of at most 8 (:func:`~otlatent.vae.side_sizes`: 28 -> 14 -> 7; 45 -> 22 -> 11 -> 5),
    then a linear layer to the code :math:`\tilde z \in \mathbb R^{n_z}`. Decoder: a linear layer to that feature
    map (batch norm, ReLU), transposed 4x4 stride-2 convolutions with batch norm and ReLU retracing the sides, the
    last one to ``nc`` channels and ``tanh``. (The report's MNIST encoder has four convolutions, 28 -> 2, with 128
    to 1024 channels; this one stops at the decoder's 7x7 map.)
    """

    def __init__(self, resolution: int = 28, nc: int = 1, nz: int = 8, width: int = 32):
        super().__init__()
        self.resolution, self.nc, self.nz, self.width = resolution, nc, nz, width
        self.sizes = side_sizes(resolution)
        levels = len(self.sizes) - 1
        chans = [nc] + [width * 2**k for k in range(levels)]
        enc: list[nn.Module] = []
        for k in range(levels):
            enc += [nn.Conv2d(chans[k], chans[k + 1], 4, 2, 1), nn.BatchNorm2d(chans[k + 1]), nn.ReLU(inplace=True)]
        self.feature_shape = (chans[-1], self.sizes[-1], self.sizes[-1])
        features = int(np.prod(self.feature_shape))
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(features, nz))
        self.from_latent = nn.Sequential(nn.Linear(nz, features), nn.BatchNorm1d(features), nn.ReLU(inplace=True))
        dec: list[nn.Module] = []
        for k in range(levels, 0, -1):
            dec.append(nn.ConvTranspose2d(chans[k], chans[k - 1], 4, 2, 1, output_padding=self.sizes[k - 1] % 2))
            dec += [nn.BatchNorm2d(chans[k - 1]), nn.ReLU(inplace=True)] if k > 1 else [nn.Tanh()]
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        r"""Codes :math:`Q(x)`, shape (N, nz)."""
        if x.shape[1:] != (self.nc, self.resolution, self.resolution):
            raise ValueError(
                f"expected images of shape (N, {self.nc}, {self.resolution}, {self.resolution}), got {tuple(x.shape)}"
            )
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        r"""Decoded images :math:`G(z)` in [-1, 1], shape (N, nc, resolution, resolution)."""
        if z.ndim != 2 or z.shape[1] != self.nz:
            raise ValueError(f"latents must have shape (N, {self.nz}), got {tuple(z.shape)}")
        return self.decoder(self.from_latent(z).view(len(z), *self.feature_shape))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(codes, reconstructions)``: :math:`\tilde z = Q(x)` and :math:`G(\tilde z)`."""
        codes = self.encode(x)
        return codes, self.decode(codes)


class LatentAdversary(nn.Module):
    """WAE-GAN's adversary on codes: ``layers`` hidden fully connected layers of ``width`` units with ReLU, then one
    logit (the report's is four layers of 512).
    """

    def __init__(self, nz: int, width: int = 512, layers: int = 4):
        super().__init__()
        mods: list[nn.Module] = []
        for k in range(layers):
            mods += [nn.Linear(nz if k == 0 else width, width), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*mods, nn.Linear(width, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(1)


@dataclasses.dataclass(frozen=True)
class WAEConfig(ModelConfig):
    """Everything that determines a WAE run: the fields of :class:`~otlatent.runs.ModelConfig` (here 28 px, one
    channel, d_z 8 and lr 1e-3 by default: the report's MNIST setting), the latent penalty and its weight.

    ``objective`` is ``"mmd"`` or ``"gan"``; ``lam`` is lambda (10 in the report); Adam has betas
    ``(beta1, 0.999)`` with ``beta1`` 0.5; the adversary (WAE-GAN) has ``adversary_width`` units per layer and
    learning rate ``lr * adversary_lr_ratio`` (5e-4 against 1e-3 in the WAE authors' MNIST setting).
    """

    dataset: str
    objective: str = "mmd"
    resolution: int = dataclasses.field(default=28, kw_only=True)
    nc: int = dataclasses.field(default=1, kw_only=True)
    nz: int = dataclasses.field(default=8, kw_only=True)
    lr: float = dataclasses.field(default=1e-3, kw_only=True)
    lam: float = 10.0
    beta1: float = 0.5
    adversary_width: int = 512
    adversary_lr_ratio: float = 0.5

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        side_sizes(self.resolution)
        super().__post_init__()
        for name in ("lam", "adversary_lr_ratio"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < float("inf")):
                raise ValueError(f"{name} must be a positive finite number, got {v!r}")
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1), got {self.beta1!r}")

    @property
    def name(self) -> str:
        return (
            f"wae-{self.objective}_{self.dataset}_{self.resolution}px_nz{self.nz}_lam{self.lam:g}_{self.preset}_"
            f"seed{self.seed}{self.precision_suffix}"
        )

    @property
    def label(self) -> str:
        """``"WAE-MMD"`` or ``"WAE-GAN"``."""
        return f"WAE-{self.objective.upper()}"

    def build(self) -> WAE:
        return WAE(self.resolution, self.nc, self.nz, self.width)

    def build_adversary(self) -> LatentAdversary:
        return LatentAdversary(self.nz, self.adversary_width)


@dataclasses.dataclass
class WAERun:
    """A trained (or partly trained) WAE and its record (``history``: cost, penalty, loss per iteration)."""

    config: WAEConfig
    model: WAE
    history: dict[str, np.ndarray]
    iteration: int
    seconds: float
    path: Path | None = None
    adversary: LatentAdversary | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def encode(self, x, batch_size: int = 256) -> torch.Tensor:
        """Codes (CPU, float32) of float images in [-1, 1] or uint8 images, in eval mode and in batches."""
        x = as_float(x)
        return torch.cat(
            [self.model.encode(x[i : i + batch_size].to(self.device)).cpu() for i in range(0, len(x), batch_size)]
        )

    @torch.no_grad()
    def decode(self, z, batch_size: int = 256) -> torch.Tensor:
        """Decoded images (CPU float in [-1, 1]) of latents (N, nz), in eval mode."""
        return decode_batches(self.model.decode, z, self.device, batch_size)

    def reconstruct(self, x, batch_size: int = 256) -> torch.Tensor:
        r""":math:`G(Q(x))`."""
        return self.decode(self.encode(x, batch_size), batch_size)


def train_wae(
    images,
    config: WAEConfig,
    run_dir: Path | None = None,
    device: str = "cpu",
    checkpoint_minutes: float = 3.0,
    stop_after: int | None = None,
    progress: bool = True,
) -> WAERun:
    r"""Train (or resume, or reload) a WAE on ``images`` (WAE-MMD or WAE-GAN, ``config.objective``).

    Each iteration draws a batch of images and as many prior draws :math:`z \sim \mathcal N(0, I)` (seeded by the
    iteration), computes the cost :func:`squared_error_cost` and the penalty (:func:`imq_mmd2` of prior draws and
    codes, or WAE-GAN's :func:`adversary_losses`), and takes one Adam step on ``cost + lam * penalty``; WAE-GAN
    first takes one adversary step on the detached codes. ``history`` records the batch means ``cost``,
    ``penalty``, ``loss`` and, for WAE-GAN, ``adversary`` (its loss).

    The run folder, checkpoints, resume, reload and ``stop_after`` behave as in :func:`otlatent.vae.train_vae`;
    under torchrun the batch is sharded as there (the MMD is then computed per shard).

    Raises
    ------
    TrainingDiverged
        When a loss term becomes NaN or infinite.
    """
    device = distributed.start(device)
    distributed.shard_size(config.batch_size)
    model_path, ckpt_path, finished = finished_run(config, images.images_u8, run_dir, load_wae, device)
    if finished is not None:
        return finished
    torch.manual_seed(config.seed)
    layout = memory_format(device)
    model = config.build().to(device, memory_format=layout)
    betas = (config.beta1, 0.999)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=betas)
    parts: dict = {"model": model, "opt": opt}
    gan = config.objective == "gan"
    if gan:
        adversary = config.build_adversary().to(device)
        opt_a = torch.optim.Adam(adversary.parameters(), lr=config.lr * config.adversary_lr_ratio, betas=betas)
        parts |= {"adversary": adversary, "opt_adversary": opt_a}
    scaler = grad_scaler(device, config.precision, parts)
    names = ("cost", "penalty", "loss") + (("adversary",) if gan else ())
    run = Training(config, parts, names, ckpt_path, device, checkpoint_minutes, stop_after, progress)
    data_u8 = torch.from_numpy(images.images_u8)
    bs = config.batch_size
    model.train()
    step = distributed.wrap(model, device)
    for i in run.iterations():
        idx = torch.from_numpy(distributed.shard(batch_indices(len(data_u8), bs, config.seed, i)))
        x = to_float(data_u8[idx].to(device)).contiguous(memory_format=layout)
        gen = torch.Generator().manual_seed(iteration_seed(config.seed, i))
        z_prior = distributed.shard(torch.randn(bs, config.nz, generator=gen)).to(device)
        with autocast(device, config.precision):
            codes, recon = step(x)
        codes, recon = codes.float(), recon.float()
        cost = squared_error_cost(x, recon).mean()
        terms = {}
        if gan:
            opt_a.zero_grad(set_to_none=True)
            adv_loss, _ = adversary_losses(adversary(z_prior), adversary(codes.detach()))
            adv_loss.backward()
            opt_a.step()
            _, penalty = adversary_losses(adversary(z_prior), adversary(codes))
            terms["adversary"] = adv_loss.item()
        else:
            penalty = imq_mmd2(z_prior, codes)
        loss = cost + config.lam * penalty
        terms = distributed.mean_over_ranks(cost=cost.item(), penalty=penalty.item(), loss=loss.item(), **terms)
        check_finite(config, i, ckpt_path, **terms)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if gan:
            adversary.zero_grad(set_to_none=True)  # the penalty's gradient reaches the adversary; it is not a step
        scaler.step(opt)
        scaler.update()
        run.record(i, show=("cost", "penalty"), **terms)
    done, hist = run.finish()
    model.to(memory_format=torch.contiguous_format).eval()
    if run.complete:
        models = {"model": model} | ({"adversary": adversary} if gan else {})
        run.save_model(model_path, models, hist, images, device)
    return WAERun(config, model, hist, done, run.seconds, model_path, adversary if gan else None)


def load_wae(path: str | Path, device: str = "cpu") -> WAERun:
    """Reload a model saved by :func:`train_wae` (eval mode; WAE-GAN's adversary too)."""
    state = load_checkpoint(path, device)
    config = WAEConfig(**state["config"])
    model = config.build().to(device)
    model.load_state_dict(state["model"])
    model.eval()
    adversary = None
    if "adversary" in state:
        adversary = config.build_adversary().to(device)
        adversary.load_state_dict(state["adversary"])
        adversary.eval()
    return WAERun(config, model, state["history"], state["iteration"], state["seconds"], Path(path), adversary)
