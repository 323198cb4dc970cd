r"""A convolutional VAE (Kingma & Welling, 2014) with an explicit Gaussian likelihood, trained resumably.

Model
-----
Encoder :math:`q_\phi(z \mid x) = \mathcal N(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x))` returns
``(mu, logvar)``; prior :math:`p(z) = \mathcal N(0, I_{n_z})`; decoder mean
:math:`m_\theta(z) \in [-1, 1]^D` (``tanh``), with the likelihood

.. math::

    p_\theta(x \mid z) = \prod_{d=1}^{D} \mathcal N(x_d;\, m_\theta(z)_d,\, s^2),

one global scale :math:`s` in the units of the images in [-1, 1] (one uint8 step is 1/127.5): either fixed
(``VAEConfig.sigma``) or learned (``VAEConfig.learn_sigma``, a parameter :math:`\log s` initialised at
``log(sigma)``).  Its log-density, summed over all :math:`D = C H W` pixel values and including the normalising
constant, is

.. math::

    \log p_\theta(x \mid z) = -\frac{D}{2}\log(2\pi s^2) - \frac{\lVert x - m_\theta(z)\rVert^2}{2 s^2},

a continuous density in nats (the data are quantised, so it is not a discrete log-probability).

Objective
---------
The evidence lower bound per image, with one reparameterised sample :math:`z = \mu + \sigma \odot \epsilon`,
:math:`\epsilon \sim \mathcal N(0, I)`:

.. math::

    \mathrm{ELBO}(x) = \mathbb E_{q(z\mid x)}[\log p_\theta(x \mid z)] - \mathrm{KL}(q(z\mid x)\,\|\,p(z)),
    \qquad
    \mathrm{KL} = \frac12 \sum_{j=1}^{n_z} \left(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\right).

Training minimises the batch mean of :math:`-\mathrm{ELBO}` with Adam; ``history`` records the batch means of
ELBO, reconstruction term and KL (nats per image) at every iteration.

Training uses the shared run machinery (:mod:`otlatent.runs`): the batch of iteration ``i`` is
:func:`~otlatent.runs.batch_indices` and its noise is seeded by :func:`~otlatent.runs.iteration_seed`, so a run
interrupted at any point and resumed from its atomic checkpoint ends with bit-identical weights; a finished
``model.pt`` with metadata is reloaded instead of retrained. Under ``torchrun`` the same loop trains one model on
many devices (:mod:`otlatent.distributed`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import distributed
from .data import as_float, to_float
from .precision import autocast, grad_scaler, memory_format
from .runs import ModelConfig, Training, batch_indices, check_finite, finished_run, iteration_seed
from .runtime import load_checkpoint

__all__ = [
    "VAEConfig",
    "VAE",
    "VAERun",
    "train_vae",
    "load_vae",
    "gaussian_log_likelihood",
    "kl_to_standard_normal",
    "negative_elbo",
    "side_sizes",
]

LOG_2PI = math.log(2 * math.pi)


def side_sizes(resolution: int, smallest: int = 8) -> list[int]:
    """Image sides along the encoder: each stride-2 4x4 convolution (padding 1) maps a side ``n`` to ``n // 2``.

    Halves until the side is at most ``smallest``: 45 -> [45, 22, 11, 5], 64 -> [64, 32, 16, 8].  The decoder
    retraces them with transposed convolutions whose ``output_padding`` is ``n % 2`` (``2 m + n % 2 = n``).
    """
    if resolution < 2 * smallest:
        raise ValueError(f"VAE resolution must be at least {2 * smallest}, got {resolution}")
    sizes = [resolution]
    while sizes[-1] > smallest:
        sizes.append(sizes[-1] // 2)
    return sizes


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor | float) -> torch.Tensor:
    r"""Per-image :math:`\sum_d \log \mathcal N(x_d; m_d, s^2) = -\frac D2 \log(2\pi s^2) - \lVert x-m\rVert^2/(2s^2)`.

    ``log_sigma`` is :math:`\log s` (a scalar, tensor or float).  Returns shape (N,), in nats.
    """
    log_sigma = torch.as_tensor(log_sigma, dtype=x.dtype, device=x.device)
    d = x[0].numel()
    sq = (x - mean).flatten(1).pow(2).sum(1)
    return -0.5 * d * (LOG_2PI + 2 * log_sigma) - 0.5 * sq * torch.exp(-2 * log_sigma)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""Per-image :math:`\mathrm{KL}(\mathcal N(\mu, \operatorname{diag} e^{\text{logvar}}) \| \mathcal N(0, I))
    = \frac12 \sum_j (\mu_j^2 + e^{\text{logvar}_j} - 1 - \text{logvar}_j)`, shape (N,), in nats.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


class VAE(nn.Module):
    r"""Convolutional VAE for square ``resolution`` px images with ``nc`` channels in [-1, 1].

    Encoder: 4x4 stride-2 convolutions (``width``, ``2 width``, ``4 width``, ... channels, LeakyReLU 0.2) down
    to a side of at most 8 (:func:`side_sizes`), then one linear layer to ``(mu, logvar)`` of size ``nz`` each.
    Decoder: a linear layer back to that feature map, transposed 4x4 stride-2 convolutions with ReLU that retrace
    the encoder's sides exactly (odd sides by ``output_padding``), and ``tanh``.  No batch norm, so encoding and
    decoding are per-image functions in training and eval mode alike.  ``log_sigma`` is the likelihood's
    :math:`\log s`: a parameter when ``learn_sigma``, otherwise a buffer.
    """

    def __init__(
        self,
        resolution: int = 45,
        nc: int = 3,
        nz: int = 100,
        width: int = 64,
        sigma: float = 0.1,
        learn_sigma: bool = False,
    ):
        super().__init__()
        self.resolution, self.nc, self.nz, self.width = resolution, nc, nz, width
        self.sizes = side_sizes(resolution)
        levels = len(self.sizes) - 1
        chans = [nc] + [width * 2**k for k in range(levels)]
        enc: list[nn.Module] = []
        for k in range(levels):
            enc += [nn.Conv2d(chans[k], chans[k + 1], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        self.feature_shape = (chans[-1], self.sizes[-1], self.sizes[-1])
        features = int(np.prod(self.feature_shape))
        self.to_stats = nn.Linear(features, 2 * nz)
        self.from_latent = nn.Linear(nz, features)
        dec: list[nn.Module] = []
        for k in range(levels, 0, -1):  # side sizes[k] -> sizes[k-1]
            dec.append(nn.ConvTranspose2d(chans[k], chans[k - 1], 4, 2, 1, output_padding=self.sizes[k - 1] % 2))
            dec.append(nn.ReLU(inplace=True) if k > 1 else nn.Tanh())
        self.decoder = nn.Sequential(*dec)
        init = torch.tensor(math.log(sigma), dtype=torch.float32)
        if learn_sigma:
            self.log_sigma = nn.Parameter(init)
        else:
            self.register_buffer("log_sigma", init)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(mu, logvar)`` of :math:`q(z \mid x)`, each of shape (N, nz)."""
        if x.shape[1:] != (self.nc, self.resolution, self.resolution):
            raise ValueError(
                f"expected images of shape (N, {self.nc}, {self.resolution}, {self.resolution}), got {tuple(x.shape)}"
            )
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        r"""Decoder means :math:`m_\theta(z)` in [-1, 1], shape (N, nc, resolution, resolution)."""
        if z.ndim != 2 or z.shape[1] != self.nz:
            raise ValueError(f"latents must have shape (N, {self.nz}), got {tuple(z.shape)}")
        return self.decoder(self.from_latent(z).relu().view(len(z), *self.feature_shape))

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        r"""One-sample ELBO terms of a batch: ``elbo``, ``recon`` (:math:`\log p(x|z)`), ``kl``, each shape (N,),
        plus ``mu``, ``logvar``, ``z`` and ``mean`` (the decoded image).  ``eps`` is the standard normal noise
        of the reparameterisation :math:`z = \mu + e^{\text{logvar}/2} \epsilon` (drawn when omitted).
        """
        mu, logvar = (t.float() for t in self.encode(x))  # the ELBO's terms in float32 under autocast too
        if eps is None:
            eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * logvar) * eps
        mean = self.decode(z).float()
        recon = gaussian_log_likelihood(x, mean, self.log_sigma)
        kl = kl_to_standard_normal(mu, logvar)
        return {"elbo": recon - kl, "recon": recon, "kl": kl, "mu": mu, "logvar": logvar, "z": z, "mean": mean}

    @property
    def sigma(self) -> float:
        """The likelihood's scale :math:`s` (in [-1, 1] image units)."""
        return float(self.log_sigma.detach().exp())


def negative_elbo(model: VAE, x: torch.Tensor, eps: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    r"""The training loss, the batch mean of :math:`-\mathrm{ELBO}`, and the terms of :meth:`VAE.forward`."""
    out = model(x, eps)
    return -out["elbo"].mean(), out


@dataclasses.dataclass(frozen=True)
class VAEConfig(ModelConfig):
    """Everything that determines a VAE run (two runs with equal configs give equal weights): the fields of
    :class:`~otlatent.runs.ModelConfig` (here 45 px and lr 1e-3 by default) and the likelihood scale.

    ``sigma`` is the likelihood scale in [-1, 1] image units: fixed, or the initial value when ``learn_sigma``.
    """

    dataset: str
    resolution: int = dataclasses.field(default=45, kw_only=True)
    lr: float = dataclasses.field(default=1e-3, kw_only=True)
    sigma: float = 0.1
    learn_sigma: bool = False

    def __post_init__(self):
        side_sizes(self.resolution)
        super().__post_init__()
        real = isinstance(self.sigma, numbers.Real) and not isinstance(self.sigma, bool)
        if not (real and 0 < self.sigma < math.inf):
            raise ValueError(f"sigma must be a positive finite number, got {self.sigma!r}")
        if not isinstance(self.learn_sigma, (bool, np.bool_)):
            raise ValueError(f"learn_sigma must be True or False, got {self.learn_sigma!r}")

    @property
    def name(self) -> str:
        scale = "learnedsigma" if self.learn_sigma else f"sigma{self.sigma:g}"
        return (
            f"vae_{self.dataset}_{self.resolution}px_nz{self.nz}_{scale}_{self.preset}_seed{self.seed}"
            f"{self.precision_suffix}"
        )

    def build(self) -> VAE:
        return VAE(self.resolution, self.nc, self.nz, self.width, self.sigma, self.learn_sigma)


@dataclasses.dataclass
class VAERun:
    """A trained (or partly trained) VAE and its record (``history``: elbo, recon, kl per iteration, nats/image)."""

    config: VAEConfig
    model: VAE
    history: dict[str, np.ndarray]
    iteration: int
    seconds: float
    path: Path | None = None
    optimizer: torch.optim.Optimizer | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def encode(self, x, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` on the CPU for float images in [-1, 1] (or uint8 images), in batches."""
        x = as_float(x)
        parts = [self.model.encode(x[i : i + batch_size].to(self.device)) for i in range(0, len(x), batch_size)]
        return torch.cat([p[0].cpu() for p in parts]), torch.cat([p[1].cpu() for p in parts])

    @torch.no_grad()
    def decode(self, z, batch_size: int = 256) -> torch.Tensor:
        """Decoder means (CPU float images in [-1, 1]) for latents of shape (N, nz)."""
        return decode_batches(self.model.decode, z, self.device, batch_size)

    def reconstruct(self, x, batch_size: int = 256) -> torch.Tensor:
        r"""Decoder means at the encoder means, :math:`m_\theta(\mu_\phi(x))`."""
        return self.decode(self.encode(x, batch_size)[0], batch_size)

    @torch.no_grad()
    def evaluate(self, x, seed: int = 0, batch_size: int = 256) -> dict[str, np.ndarray]:
        """Per-image one-sample ``elbo``, ``recon``, ``kl`` (nats) of images ``x``, with noise seeded by ``seed``."""
        x = as_float(x)
        gen = torch.Generator().manual_seed(seed)
        out: dict[str, list] = {"elbo": [], "recon": [], "kl": []}
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size]
            eps = torch.randn(len(xb), self.config.nz, generator=gen).to(self.device)
            terms = self.model(xb.to(self.device), eps)
            for k in out:
                out[k].append(terms[k].cpu())
        return {k: torch.cat(v).double().numpy() for k, v in out.items()}


def decode_batches(decode, z, device, batch_size: int = 256) -> torch.Tensor:
    """``decode`` (an auto-encoder's decoder) over latents ``z`` (N, nz) in batches on ``device``; CPU float images."""
    z = torch.as_tensor(z, dtype=torch.float32)
    return torch.cat([decode(z[i : i + batch_size].to(device)).cpu() for i in range(0, len(z), batch_size)])


def train_vae(
    images,
    config: VAEConfig,
    run_dir: Path | None = None,
    device: str = "cpu",
    checkpoint_minutes: float = 3.0,
    stop_after: int | None = None,
    progress: bool = True,
) -> VAERun:
    r"""Train (or resume, or reload) a VAE on ``images`` by minimising the batch mean of :math:`-\mathrm{ELBO}`.

    Parameters
    ----------
    images : otlatent.data.ImageSet
        Training images (uint8, N x C x H x W at ``config.resolution``), mapped to [-1, 1] as ``x / 127.5 - 1``.
    config : VAEConfig
        Architecture, likelihood scale, optimiser (Adam, ``lr``) and schedule.
    run_dir : Path, optional
        Holds ``checkpoint.pt`` and the finished ``model.pt``; default ``<data root>/models/<config.name>/``
        (``config.run_dir()``).  A finished model with an equal config is loaded instead of
        retrained; a checkpoint with an equal config is resumed.
    checkpoint_minutes : float
        Wall time between atomic checkpoints (one is always written at the end).
    stop_after : int, optional
        Stop (with a checkpoint) once this iteration is reached, as if interrupted.
    progress : bool
        Show a tqdm bar with the running ELBO terms.

    Returns
    -------
    VAERun
        With ``history`` of ``elbo``, ``recon``, ``kl`` (batch means, nats per image) and, when the run was
        reached here, ``sigma`` (the likelihood scale per iteration).

    Under ``torchrun --nproc_per_node=N`` each of the N processes computes a shard of every global batch of
    ``config.batch_size`` (a multiple of N) and they end with the model one process trains
    (:mod:`otlatent.distributed`); rank 0 writes the checkpoints and the model.

    Raises
    ------
    TrainingDiverged
        When the loss becomes NaN or infinite (the message gives the iteration and terms).
    ValueError
        Under torchrun, when ``config.batch_size`` is not a multiple of the number of processes.
    """
    device = distributed.start(device)  # under torchrun: joins the process group; this rank's GPU
    distributed.shard_size(config.batch_size)  # a batch of equal shards, or a ValueError now
    model_path, ckpt_path, finished = finished_run(config, images.images_u8, run_dir, load_vae, device)
    if finished is not None:
        return finished
    torch.manual_seed(config.seed)
    layout = memory_format(device)  # channels-last while training; the saved model is in the default layout
    model = config.build().to(device, memory_format=layout)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    parts = {"model": model, "opt": opt}
    scaler = grad_scaler(device, config.precision, parts)  # loss scaling for fp16, a pass-through otherwise
    run = Training(
        config,
        parts,
        ("elbo", "recon", "kl", "sigma"),
        ckpt_path,
        device,
        checkpoint_minutes,
        stop_after,
        progress,
        finite=(),
    )
    data_u8 = torch.from_numpy(images.images_u8)
    bs = config.batch_size
    model.train()
    step = distributed.wrap(model, device)  # DDP under torchrun, else the model
    for i in run.iterations():
        # the global batch's images and noise, of which this process keeps its shard (all of them in one process)
        idx = torch.from_numpy(distributed.shard(batch_indices(len(data_u8), bs, config.seed, i)))
        x = to_float(data_u8[idx].to(device)).contiguous(memory_format=layout)
        gen = torch.Generator().manual_seed(iteration_seed(config.seed, i))
        eps = distributed.shard(torch.randn(bs, config.nz, generator=gen)).to(device)
        opt.zero_grad(set_to_none=True)
        with autocast(device, config.precision):  # otlatent.precision; the loss terms are float32
            loss, out = negative_elbo(step, x, eps)
        terms = distributed.mean_over_ranks(  # of the global batch, on every rank
            elbo=-loss.item(), recon=out["recon"].mean().item(), kl=out["kl"].mean().item()
        )
        check_finite(config, i, ckpt_path, **terms)  # before the step: weights stay finite
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        run.record(i, show=("elbo", "kl"), **terms, sigma=model.sigma)
    done, hist = run.finish()
    model.to(memory_format=torch.contiguous_format).eval()  # as load_vae builds it
    if run.complete:
        run.save_model(model_path, {"model": model}, hist, images, device, meta={"sigma_final": model.sigma})
    return VAERun(config, model, hist, done, run.seconds, model_path, opt)


def load_vae(path: str | Path, device: str = "cpu") -> VAERun:
    """Reload a model saved by :func:`train_vae` (eval mode, no optimiser state)."""
    state = load_checkpoint(path, device)
    config = VAEConfig(**state["config"])
    model = config.build().to(device)
    model.load_state_dict(state["model"])
    model.eval()
    return VAERun(config, model, state["history"], state["iteration"], state["seconds"], Path(path))
