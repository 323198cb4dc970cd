"""Resumable, seeded DCGAN training.

Every random choice of iteration ``i`` (the batch, the latents) is a function of
``(seed, i)`` alone, so a run interrupted at any point and resumed from its last
checkpoint ends with the same weights as an uninterrupted one.  Checkpoints are
written atomically every few minutes and at the end; a finished model is saved
with its metadata and reloaded by later notebooks instead of being retrained.

Losses (Goodfellow et al.'s non-saturating form, as in DCGAN):

.. math::

    L_D = -\\mathbb{E}_x[\\log D(x)] - \\mathbb{E}_z[\\log(1 - D(G(z)))], \\qquad
    L_G = -\\mathbb{E}_z[\\log D(G(z))]

with :math:`z` drawn from the prior (:mod:`otlatent.priors`).
"""
from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import __version__
from .data import to_uint8
from .models import Discriminator, Generator
from .priors import get_prior
from .runtime import load_checkpoint, save_checkpoint

__all__ = ["GANConfig", "GANRun", "train_dcgan", "load_generator", "run_dir_for", "TrainingDiverged", "generate",
           "calibrate_batchnorm",
           "iterations_for", "images_for", "dcgan_for", "batch_indices", "iteration_seed", "run_paths", "finished_run",
           "check_images", "check_schedule",
           "resume_state", "check_finite", "Checkpointer", "progress_bar", "model_meta"]


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite."""


def check_schedule(config, sizes) -> None:
    """Raise ``ValueError`` unless every field named in ``sizes`` is positive and ``0 < config.lr < 1``."""
    for name in sizes:
        if getattr(config, name) <= 0:
            raise ValueError(f"{name} must be positive, got {getattr(config, name)}")
    if not 0 < config.lr < 1:
        raise ValueError(f"learning rate must be in (0, 1), got {config.lr}")


@dataclasses.dataclass(frozen=True)
class GANConfig:
    """Everything that determines a DCGAN run (two runs with equal configs give equal weights)."""

    dataset: str
    prior: str  # "gaussian" or "uniform" (see otlatent.priors.get_prior)
    resolution: int = 32
    nc: int = 3
    nz: int = 100
    width: int = 64
    batch_size: int = 64
    iterations: int = 1000
    lr: float = 2e-4
    beta1: float = 0.5
    seed: int = 0
    preset: str = "cpu"

    def __post_init__(self):
        get_prior(self.prior)
        check_schedule(self, ("nz", "width", "batch_size", "iterations"))

    @property
    def name(self) -> str:
        return f"dcgan_{self.dataset}_{self.prior}_{self.resolution}px_{self.preset}_seed{self.seed}"


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
    out = torch.cat([generator(z[i:i + batch_size].to(device)).cpu() for i in range(0, len(z), batch_size)])
    generator.train(was_training)
    return out


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


def run_dir_for(config: GANConfig, root: Path | None = None) -> Path:
    """Where a run keeps its checkpoint and final model: ``<data root>/models/<config.name>/``."""
    from .config import data_root

    return (Path(root) if root else data_root()) / "models" / config.name


def batch_indices(n: int, batch: int, seed: int, iteration: int) -> np.ndarray:
    """The images of ``iteration``: epoch-wise permutations seeded by (seed, epoch), no image twice per epoch."""
    per_epoch = n // batch
    if per_epoch == 0:
        raise ValueError(f"dataset of {n} images is smaller than one batch of {batch}")
    epoch, k = divmod(iteration, per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[k * batch:(k + 1) * batch]


def iteration_seed(seed: int, iteration: int) -> int:
    """The seed of iteration ``iteration``'s random draws (latents, noise): a function of ``(seed, iteration)``."""
    return int(np.random.default_rng([seed, iteration, 7]).integers(2**62))


def run_paths(config, run_dir: Path | None = None) -> tuple[Path, Path]:
    """``(model.pt, checkpoint.pt)`` of a run: its finished model and its training state."""
    run_dir = Path(run_dir) if run_dir else run_dir_for(config)
    return run_dir / "model.pt", run_dir / "checkpoint.pt"


def finished_run(config, images, run_dir: Path | None, load, device: str):
    """Check ``images`` against ``config`` and return ``(model_path, ckpt_path, run)``: ``run`` is the finished run
    in ``model_path`` (reloaded by ``load(path, device)``) when its config equals ``config``, else ``None``."""
    model_path, ckpt_path = run_paths(config, run_dir)
    check_images(images, config)
    if model_path.exists():
        run = load(model_path, device)
        if run.config == config:
            return model_path, ckpt_path, run
    return model_path, ckpt_path, None


def check_images(images, config) -> None:
    """Raise ``ValueError`` unless ``images`` are (N, config.nc, config.resolution, config.resolution)."""
    if tuple(images.images_u8.shape[1:]) != (config.nc, config.resolution, config.resolution):
        raise ValueError(f"images have shape {images.images_u8.shape[1:]}, config expects "
                         f"({config.nc}, {config.resolution}, {config.resolution})")


def resume_state(ckpt_path: Path, config, device: str) -> dict | None:
    """The training state saved at ``ckpt_path`` if it belongs to ``config`` (same class, equal fields), else ``None``."""
    if not ckpt_path.exists():
        return None
    state = load_checkpoint(ckpt_path, device)
    return state if type(config)(**state["config"]) == config else None


def check_finite(config, iteration: int, ckpt_path: Path, **terms: float) -> None:
    """Raise :class:`TrainingDiverged` naming the iteration, the terms and the last good checkpoint."""
    if not all(np.isfinite(v) for v in terms.values()):
        values = ", ".join(f"{k}={v}" for k, v in terms.items())
        raise TrainingDiverged(f"{config.name}: training diverged at iteration {iteration}: {values}. Lower the "
                               f"learning rate or check the data; the last good checkpoint is "
                               f"{ckpt_path if ckpt_path.exists() else 'not written yet'}")


class Checkpointer:
    """Writes the training state atomically every ``minutes`` of wall time (and on demand)."""

    def __init__(self, path: Path, minutes: float):
        self.path, self.seconds, self.last = path, 60 * minutes, time.monotonic()

    def save(self, state: dict) -> None:
        save_checkpoint(state, self.path)
        self.last = time.monotonic()

    def maybe(self, make_state) -> None:
        """Save ``make_state()`` if the interval has passed (the state is only built then)."""
        if time.monotonic() - self.last > self.seconds:
            self.save(make_state())


def progress_bar(config, start: int, end: int, progress: bool):
    """A tqdm bar over iterations ``start..end`` out of ``config.iterations``, named after the run."""
    from tqdm import tqdm

    return tqdm(range(start, end), initial=start, total=config.iterations, disable=not progress,
                desc=config.name, unit="it", mininterval=2.0)


def model_meta(config, images, device: str, seconds: float, **extra) -> dict:
    """The metadata saved with a finished model."""
    return {**dataclasses.asdict(config), "images": len(images), "source": images.source, "device": device,
            "wall_seconds": seconds, **extra}


def _state(config, G, D, opt_g, opt_d, history, snapshots, iteration, seconds) -> dict[str, Any]:
    return {"config": dataclasses.asdict(config), "G": G.state_dict(), "D": D.state_dict(),
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
            "history": {k: np.asarray(v) for k, v in history.items()}, "snapshots": snapshots,
            "iteration": iteration, "seconds": seconds, "version": __version__}


def train_dcgan(images, config: GANConfig, run_dir: Path | None = None, device: str = "cpu",
                checkpoint_minutes: float = 3.0, n_snapshots: int = 8, stop_after: int | None = None,
                progress: bool = True) -> GANRun:
    """Train (or resume, or reload) a DCGAN on ``images``.

    Parameters
    ----------
    images : otlatent.data.ImageSet
        The training images (uint8, N x C x H x W, at ``config.resolution``).
    config : GANConfig
        Architecture, prior, optimiser and schedule (Adam, ``lr``, betas ``(beta1, 0.999)``).
    run_dir : Path, optional
        Holds ``checkpoint.pt`` (the training state) and ``model.pt`` (the finished
        model with its metadata); default :func:`run_dir_for`.  A finished model whose
        config matches is loaded instead of retrained; a matching checkpoint is resumed.
    checkpoint_minutes : float
        Wall time between atomic checkpoints.
    n_snapshots : int
        How many fixed-noise sample grids to keep along training (for a progress figure).
    stop_after : int, optional
        Stop (with a checkpoint) once this iteration is reached, as if interrupted.

    Raises
    ------
    TrainingDiverged
        When a loss becomes NaN or infinite (the message gives the iteration and losses).
    """
    model_path, ckpt_path, finished = finished_run(config, images, run_dir, load_generator, device)
    if finished is not None:
        return finished
    prior = get_prior(config.prior)
    torch.manual_seed(config.seed)
    G = Generator(config.nz, config.nc, config.width, config.resolution).to(device)
    D = Discriminator(config.nc, config.width, config.resolution).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr, betas=(config.beta1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr, betas=(config.beta1, 0.999))
    keys = ("loss_d", "loss_g", "d_real", "d_fake")
    history = {k: [] for k in keys}
    snapshots: list[tuple[int, np.ndarray]] = []
    start, seconds = 0, 0.0
    state = resume_state(ckpt_path, config, device)
    if state is not None:
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        history = {k: list(state["history"][k]) for k in keys}
        snapshots, start, seconds = state["snapshots"], state["iteration"], state["seconds"]
    fixed_z = prior.sample(64, config.nz, seed=config.seed + 10_007, device=device)
    snap_at = set(np.unique(np.linspace(0, config.iterations, n_snapshots).round().astype(int)).tolist())
    data_u8 = torch.from_numpy(images.images_u8)
    loss_fn = nn.BCEWithLogitsLoss()
    bs = config.batch_size
    ones, zeros = torch.ones(bs, device=device), torch.zeros(bs, device=device)
    end = config.iterations if stop_after is None else min(stop_after, config.iterations)
    checkpoints = Checkpointer(ckpt_path, checkpoint_minutes)

    def snapshot(i):
        if i in snap_at and not any(s[0] == i for s in snapshots):
            calibrated = calibrate_batchnorm(copy.deepcopy(G), prior, n=1024, seed=config.seed)
            snapshots.append((i, to_uint8(generate(calibrated, fixed_z)).numpy()))

    def state_at(i, spent):
        return _state(config, G, D, opt_g, opt_d, history, snapshots, i, spent)

    bar = progress_bar(config, start, end, progress)
    t0 = time.monotonic()
    for i in bar:
        snapshot(i)
        idx = torch.from_numpy(batch_indices(len(data_u8), bs, config.seed, i))
        real = data_u8[idx].to(device=device, dtype=torch.float32).div_(127.5).sub_(1.0)
        z = prior.sample(bs, config.nz, seed=iteration_seed(config.seed, i), device=device)
        fake = G(z)
        # discriminator step: real -> 1, fake -> 0 (separate batches, as in DCGAN)
        opt_d.zero_grad(set_to_none=True)
        out_real = D(real)
        out_fake = D(fake.detach())
        loss_d = loss_fn(out_real, ones) + loss_fn(out_fake, zeros)
        loss_d.backward()
        opt_d.step()
        # generator step, non-saturating: fake -> 1
        opt_g.zero_grad(set_to_none=True)
        out = D(fake)
        loss_g = loss_fn(out, ones)
        loss_g.backward()
        opt_g.step()
        ld, lg = loss_d.item(), loss_g.item()
        check_finite(config, i, ckpt_path, loss_D=ld, loss_G=lg)
        history["loss_d"].append(ld)
        history["loss_g"].append(lg)
        history["d_real"].append(torch.sigmoid(out_real).mean().item())
        history["d_fake"].append(torch.sigmoid(out_fake).mean().item())
        if progress and i % 20 == 0:
            bar.set_postfix(loss_d=f"{ld:.3f}", loss_g=f"{lg:.3f}", refresh=False)
        checkpoints.maybe(lambda: state_at(i + 1, seconds + time.monotonic() - t0))
    bar.close()
    done = max(end, start)
    seconds += time.monotonic() - t0
    snapshot(done)
    checkpoints.save(state_at(done, seconds))
    hist = {k: np.asarray(v, dtype=np.float64) for k, v in history.items()}
    if done >= config.iterations:
        calibrate_batchnorm(G, prior, seed=config.seed)
    run = GANRun(config, G, D, hist, snapshots, done, seconds, model_path)
    if done >= config.iterations:
        save_checkpoint({"config": dataclasses.asdict(config), "G": G.state_dict(), "history": hist,
                         "snapshots": snapshots, "iteration": done, "seconds": seconds, "version": __version__,
                         "meta": model_meta(config, images, device, seconds)}, model_path)
    return run


def load_generator(path: str | Path, device: str = "cpu") -> GANRun:
    """Reload a model saved by :func:`train_dcgan` (generator in eval mode, discriminator not kept)."""
    state = load_checkpoint(path, device)
    config = GANConfig(**state["config"])
    G = Generator(config.nz, config.nc, config.width, config.resolution).to(device)
    G.load_state_dict(state["G"])
    G.eval()
    return GANRun(config, G, None, state["history"], state["snapshots"], state["iteration"], state["seconds"],
                  Path(path))


def iterations_for(n_images: int, preset, epochs: float | None = None, batch: int | None = None) -> int:
    """Iterations of ``epochs`` passes over ``n_images`` at ``batch`` images each (default: the preset's GAN
    schedule, ``preset.gan_epochs`` and ``preset.gan_batch``)."""
    epochs = preset.gan_epochs if epochs is None else epochs
    batch = preset.gan_batch if batch is None else batch
    return max(1, int(np.ceil(epochs * n_images / batch)))


def images_for(study, resolution: int | None = None):
    """The training images of a notebook run: ``study.dataset`` at the preset's resolution and image limit."""
    from . import data

    preset = study.preset
    return data.load(study.dataset, resolution or preset.gan_resolution, n=preset.gan_max_images, seed=study.seed)


def dcgan_for(study, prior: str, images=None, progress: bool = True) -> GANRun:
    """Train (or reload) the DCGAN of a notebook run: ``study``'s dataset, preset and seed, with ``prior``.

    The model lives in ``<data root>/models/<config.name>/``; notebooks 05-06 call this
    same function and get the trained model back without retraining.
    """
    preset = study.preset
    images = images if images is not None else images_for(study)
    config = GANConfig(dataset=study.dataset, prior=prior, resolution=preset.gan_resolution,
                       nc=images.images_u8.shape[1], width=preset.gan_width, batch_size=preset.gan_batch,
                       iterations=iterations_for(len(images), preset), seed=study.seed, preset=preset.name)
    return train_dcgan(images, config, device=study.device, checkpoint_minutes=preset.checkpoint_minutes,
                       progress=progress)
