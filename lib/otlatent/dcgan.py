r"""DCGAN (Radford et al., 2016): generator, discriminator and their resumable, seeded adversarial training.

The generator maps a latent ``z`` of size ``nz`` (reshaped to ``nz x 1 x 1``)
through transposed 4x4 convolutions that double the resolution, each followed
by batch norm and ReLU, to a ``tanh`` image in [-1, 1].  The discriminator
mirrors it with strided 4x4 convolutions and LeakyReLU(0.2), batch norm on every
layer but the first, and returns one logit per image (the sigmoid lives in the
loss, ``BCEWithLogitsLoss``, for numerical stability).  All convolutions are
bias-free; weights are drawn from N(0, 0.02), batch-norm scales from N(1, 0.02).

Losses (Goodfellow et al.'s non-saturating form, as in DCGAN):

.. math::

    L_D = -\mathbb{E}_x[\log D(x)] - \mathbb{E}_z[\log(1 - D(G(z)))], \qquad
    L_G = -\mathbb{E}_z[\log D(G(z))]

with :math:`z` drawn from the prior (:mod:`otlatent.priors`). The run bookkeeping (resume, checkpoints,
reload of a finished model) is :mod:`otlatent.runs`'; under ``torchrun`` the same loop trains one model on many
devices (:mod:`otlatent.distributed`).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import distributed
from .data import to_float, to_uint8
from .precision import FP32BatchNorm2d, autocast, grad_scaler, memory_format
from .priors import get_prior
from .runs import ModelConfig, Training, batch_indices, finished_run, iteration_seed
from .runtime import load_checkpoint

__all__ = [
    "Generator",
    "Discriminator",
    "dcgan_init",
    "GANConfig",
    "GANRun",
    "train_dcgan",
    "generate_batch_statistics",
    "load_generator",
    "generate",
    "calibrate_batchnorm",
    "num_parameters",
]


def _levels(resolution: int) -> int:
    if resolution not in (32, 64):
        raise ValueError(f"DCGAN resolution must be 32 or 64, got {resolution}")
    return {32: 3, 64: 4}[resolution]


class Generator(nn.Module):
    """DCGAN generator: ``(N, nz)`` latents -> ``(N, nc, resolution, resolution)`` images in [-1, 1].

    Widths: ``width * 2**(levels-1)`` channels at 4x4, halving at each doubling
    of the resolution (``width`` = 64 is the paper's ``ngf``).
    """

    def __init__(self, nz: int = 100, nc: int = 3, width: int = 64, resolution: int = 64):
        super().__init__()
        levels = _levels(resolution)
        self.nz, self.nc, self.width, self.resolution = nz, nc, width, resolution
        ch = width * 2 ** (levels - 1)
        layers: list[nn.Module] = [  # nz x 1 x 1 -> ch x 4 x 4
            nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False),
            FP32BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(levels - 1):  # doubles the side, halves the channels
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), FP32BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, nc, 4, 2, 1, bias=False), nn.Tanh()]  # -> nc x res x res
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.nz:
            raise ValueError(f"expected latents of shape (N, {self.nz}), got {tuple(z.shape)}")
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    """DCGAN discriminator: ``(N, nc, resolution, resolution)`` images -> ``(N,)`` logits."""

    def __init__(self, nc: int = 3, width: int = 64, resolution: int = 64):
        super().__init__()
        levels = _levels(resolution)
        self.nc, self.width, self.resolution = nc, width, resolution
        ch = width
        layers: list[nn.Module] = [nn.Conv2d(nc, ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(levels - 1):
            layers += [
                nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),
                FP32BatchNorm2d(ch * 2),
                nn.LeakyReLU(0.2, True),
            ]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False)]  # 4x4 -> 1x1
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation: conv weights ~ N(0, 0.02); batch-norm scale ~ N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@dataclasses.dataclass(frozen=True)
class GANConfig(ModelConfig):
    """Everything that determines a DCGAN run (two runs with equal configs give equal weights): the fields of
    :class:`~otlatent.runs.ModelConfig` (32 px, lr 2e-4 by default), the prior and Adam's beta1.
    """

    dataset: str
    prior: str  # "gaussian" or "uniform" (see otlatent.priors.get_prior)
    beta1: float = 0.5

    def __post_init__(self):
        get_prior(self.prior)
        super().__post_init__()

    @property
    def name(self) -> str:
        return (
            f"dcgan_{self.dataset}_{self.prior}_{self.resolution}px_{self.preset}_seed{self.seed}"
            f"{self.precision_suffix}"
        )


@dataclasses.dataclass
class GANRun:
    """A trained (or partly trained) DCGAN and its record."""

    config: GANConfig
    generator: Generator
    discriminator: Discriminator | None
    history: dict[str, np.ndarray]
    snapshots: list[tuple[int, np.ndarray]]
    iteration: int
    seconds: float
    path: Path | None = None

    @property
    def prior(self):
        return get_prior(self.config.prior)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Images (float, [-1, 1], on the CPU) for latents ``z`` of shape (N, nz), in eval mode."""
        return generate(self.generator, z, batch_size)


@torch.no_grad()
def generate(generator: Generator, z, batch_size: int = 256) -> torch.Tensor:
    """Run ``generator`` in eval mode over ``z`` in batches; return CPU float images in [-1, 1]."""
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    z = torch.as_tensor(z, dtype=torch.float32)
    out = torch.cat([generator(z[i : i + batch_size].to(device)).cpu() for i in range(0, len(z), batch_size)])
    out = out.contiguous()
    generator.train(was_training)
    return out


@torch.no_grad()
def generate_batch_statistics(generator: Generator, z) -> torch.Tensor:
    """Decode ``z`` (N, nz) as **one batch with train-mode batch norm** (each layer normalised by this batch's own
    mean and variance), on a copy, so the generator's running statistics are untouched.

    The wrong way to evaluate a generator on an operation's latents, kept to show why: batch norm renormalises the
    activations of the whole batch, so a batch of linear midpoints (latents of norm ~0.7 of the prior's) gets
    activations of the same scale as a batch of prior samples, and the mismatch the paper studies disappears from
    the images. :func:`generate` (eval mode, calibrated statistics) makes each image a function of its own latent.
    """
    import copy

    device = next(generator.parameters()).device
    g = copy.deepcopy(generator).train()
    return g(torch.as_tensor(z, dtype=torch.float32).to(device)).cpu().contiguous()


@torch.no_grad()
def calibrate_batchnorm(generator: Generator, prior, n: int = 4096, batch_size: int = 256, seed: int = 0) -> Generator:
    """Set the generator's batch-norm running statistics to their exact averages over ``n`` prior latents.

    In eval mode a batch-norm layer normalises with its running mean and variance, exponential averages
    collected along training that lag behind the final weights (badly so after a short run). Recomputing them
    over prior samples makes every eval-mode image a function of its own latent alone, calibrated for the prior
    the generator was trained on, which is what the latent operations need.
    """
    device = next(generator.parameters()).device
    layers = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    was_training = generator.training
    generator.train()
    for k in range(0, n, batch_size):
        generator(prior.sample(min(batch_size, n - k), generator.nz, seed=seed + k, device=device))
    for m, momentum in zip(layers, momenta):
        m.momentum = momentum
    generator.train(was_training)
    return generator


def train_dcgan(
    images,
    config: GANConfig,
    run_dir: Path | None = None,
    device: str = "cpu",
    checkpoint_minutes: float = 3.0,
    n_snapshots: int = 8,
    stop_after: int | None = None,
    progress: bool = True,
    calibration: int = 4096,
) -> GANRun:
    """Train (or resume, or reload) a DCGAN on ``images``.

    Parameters
    ----------
    images : otlatent.data.ImageSet
        The training images (uint8, N x C x H x W, at ``config.resolution``).
    config : GANConfig
        Architecture, prior, optimiser and schedule (Adam, ``lr``, betas ``(beta1, 0.999)``).
    run_dir : Path, optional
        Holds ``checkpoint.pt`` (the training state) and ``model.pt`` (the finished
        model with its metadata); default ``config.run_dir()``.  A finished model whose
        config matches is loaded instead of retrained; a matching checkpoint is resumed.
    checkpoint_minutes : float
        Wall time between atomic checkpoints.
    n_snapshots : int
        How many fixed-noise sample grids to keep along training (for a progress figure).
    stop_after : int, optional
        Stop (with a checkpoint) once this iteration is reached, as if interrupted.
    calibration : int
        Prior latents over which :func:`calibrate_batchnorm` sets the finished generator's batch-norm statistics
        (a snapshot's: at most 1,024 of them).

    Under ``torchrun --nproc_per_node=N`` each of the N processes computes a shard of every global batch of
    ``config.batch_size`` (which must be a multiple of N) on its own device, and they end with the model one
    process trains (:mod:`otlatent.distributed`); rank 0 writes the checkpoints and the model.

    Raises
    ------
    TrainingDiverged
        When a loss becomes NaN or infinite (the message gives the iteration and losses).
    ValueError
        Under torchrun, when ``config.batch_size`` is not a multiple of the number of processes.
    """
    device = distributed.start(device)  # under torchrun: joins the process group; this rank's GPU
    shard = distributed.shard_size(config.batch_size)  # the images of a batch this process computes
    model_path, ckpt_path, finished = finished_run(config, images.images_u8, run_dir, load_generator, device)
    if finished is not None:
        return finished
    prior = get_prior(config.prior)
    torch.manual_seed(config.seed)
    layout = memory_format(device)  # channels-last while training; the saved model is in the default layout
    G = Generator(config.nz, config.nc, config.width, config.resolution).to(device, memory_format=layout)
    D = Discriminator(config.nc, config.width, config.resolution).to(device, memory_format=layout)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr, betas=(config.beta1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr, betas=(config.beta1, 0.999))
    parts = {"G": G, "D": D, "opt_g": opt_g, "opt_d": opt_d}
    scaler = grad_scaler(device, config.precision, parts)  # loss scaling for fp16, a pass-through otherwise
    run = Training(
        config,
        parts,
        ("loss_d", "loss_g", "d_real", "d_fake"),
        ckpt_path,
        device,
        checkpoint_minutes,
        stop_after,
        progress,
        finite=("loss_d", "loss_g"),
        extra=("snapshots",),
    )
    G_step, D_step = distributed.wrap(G, device), distributed.wrap(D, device)  # DDP under torchrun, else G, D
    snapshots = run.extra["snapshots"]
    fixed_z = prior.sample(64, config.nz, seed=config.seed + 10_007, device=device)
    snap_at = set(np.unique(np.linspace(0, config.iterations, n_snapshots).round().astype(int)).tolist())
    data_u8 = torch.from_numpy(images.images_u8)
    loss_fn = nn.BCEWithLogitsLoss()
    bs = config.batch_size
    ones, zeros = torch.ones(shard, device=device), torch.zeros(shard, device=device)

    def snapshot(i):
        if i in snap_at and not any(s[0] == i for s in snapshots):
            local = distributed.local_batchnorm(copy.deepcopy(G))  # every rank alike, on its own batches
            calibrated = calibrate_batchnorm(local, prior, n=min(1024, calibration), seed=config.seed)
            snapshots.append((i, to_uint8(generate(calibrated, fixed_z)).numpy()))

    for i in run.iterations():
        snapshot(i)
        # the global batch's images and latents, of which this process keeps its shard (all of them in one process)
        idx = torch.from_numpy(distributed.shard(batch_indices(len(data_u8), bs, config.seed, i)))
        real = to_float(data_u8[idx].to(device)).contiguous(memory_format=layout)
        z = distributed.shard(prior.sample(bs, config.nz, seed=iteration_seed(config.seed, i), device=device))
        # forward passes under autocast (otlatent.precision); logits, losses and backward passes in float32
        with autocast(device, config.precision):
            fake = G_step(z)
            out_real = D_step(real).float()
            out_fake = D_step(fake.detach()).float()
        # discriminator step: real -> 1, fake -> 0 (separate batches, as in DCGAN)
        opt_d.zero_grad(set_to_none=True)
        loss_d = loss_fn(out_real, ones) + loss_fn(out_fake, zeros)
        scaler.scale(loss_d).backward()
        scaler.step(opt_d)
        # generator step, non-saturating: fake -> 1
        opt_g.zero_grad(set_to_none=True)
        with autocast(device, config.precision):
            out_gen = D_step(fake).float()
        loss_g = loss_fn(out_gen, ones)
        scaler.scale(loss_g).backward()
        scaler.step(opt_g)
        scaler.update()
        terms = distributed.mean_over_ranks(  # of the global batch
            loss_d=loss_d.item(),
            loss_g=loss_g.item(),
            d_real=torch.sigmoid(out_real).mean().item(),
            d_fake=torch.sigmoid(out_fake).mean().item(),
        )
        run.record(i, show=("loss_d", "loss_g"), **terms)
    snapshot(max(run.end, run.start))
    done, hist = run.finish()
    for net in (G, D):
        distributed.local_batchnorm(net)  # each rank's own batch norm again: the modules one process trains
    G.to(memory_format=torch.contiguous_format)  # as load_generator builds it: the same images either way
    if run.complete:
        calibrate_batchnorm(G, prior, n=calibration, seed=config.seed)
        run.save_model(model_path, {"G": G}, hist, images, device, snapshots=snapshots)
    return GANRun(config, G, D, hist, snapshots, done, run.seconds, model_path)


def load_generator(path: str | Path, device: str = "cpu", config_class=None) -> GANRun:
    """Reload a model saved by :func:`train_dcgan` (generator in eval mode, discriminator not kept); with
    ``config_class`` (a subclass of :class:`GANConfig`, e.g. WGAN-GP's), one saved by another GAN trainer.
    """
    state = load_checkpoint(path, device)
    config = (config_class or GANConfig)(**state["config"])
    G = Generator(config.nz, config.nc, config.width, config.resolution).to(device)
    G.load_state_dict(state["G"])
    G.eval()
    return GANRun(
        config, G, None, state["history"], state["snapshots"], state["iteration"], state["seconds"], Path(path)
    )


def num_parameters(module: nn.Module) -> int:
    """The number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())
