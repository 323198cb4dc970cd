"""Presets, dataset names and the study's folders.

Every size in a notebook (sample counts, iterations, batch sizes, resolution) is
read from one :class:`Preset`; the notebook's papermill ``parameters`` cell only
names the preset.  Three presets exist:

``smoke``
    CI: seconds per notebook, checks the plumbing, not the science.
``cpu``
    A 2-core laptop or a classroom: real results in minutes per notebook.
    The committed notebooks and figures come from this preset.
``paper``
    The paper's scale, meant for a GPU.
``paper-dry``
    The dry run of ``paper`` (as the ``--dry-run`` of pytorch/examples): :func:`dry_run` keeps every architecture,
    resolution and batch-size field of ``paper`` and takes a handful of iterations and samples, so that every
    notebook runs the GPU-scale code path end to end on a CPU in CI (``make dry-run``; ``make test`` runs it too).
    It proves that the paper preset runs, not what it finds: its numbers mean nothing.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

__all__ = [
    "Preset",
    "PRESETS",
    "get_preset",
    "COUNT_FIELDS",
    "dry_run",
    "DATASETS",
    "check_dataset",
    "project_root",
    "data_root",
    "cache_root",
    "models_root",
    "figures_root",
    "build_root",
]


@dataclasses.dataclass(frozen=True)
class Preset:
    """Sizes for one scale of the study.

    Attributes
    ----------
    name, description : str
        The preset's name and what it is for.
    n_sim : int
        Monte Carlo draws for the latent-space simulations (pairs of latents
        for Figures 1-2 and Table 1 of the paper, samples for 1-D OT demos).
    n_brute : int
        Points per side for brute-force searches over permutations (factorial cost:
        keep it small).
    n_lp : int
        Points per side for the discrete Kantorovich linear programs.
    grid : int
        Points on plotting grids (densities, CDFs, transport maps).
    n_trials : int
        Random repetitions of small exact experiments (brute-force searches, sampling-error
        replications in the 1-D transport notebook).
    gan_resolution, gan_width, gan_batch : int
        DCGAN image side (32 or 64), base width (``ngf = ndf``; 64 in Radford et al.) and batch size.
    gan_epochs : float
        Passes over the training images; iterations = ceil(epochs * images / batch).
    gan_max_images : int or None
        Train on the first this-many images only (``None``: all of them).
    gan_calibration : int
        Prior latents over which a finished generator's batch-norm statistics are computed
        (:func:`otlatent.dcgan.calibrate_batchnorm`).
    gan_replicates : int
        Independently seeded DCGANs per (dataset, prior) (seeds ``seed, seed + 1, ...``): the replicates whose
        spread the sample-quality verdicts pool over (:mod:`otlatent.metrics.equivalence`).
    checkpoint_minutes : float
        Wall time between atomic training checkpoints.
    n_score, score_splits : int
        Generated images per row of the sample-quality table (notebook 06; the paper: 50,000) and the
        inception-score splits (10 in the literature).
    n_baseline : int
        Independent random-sample sets per model in notebook 06: the baseline's mean, the set noise of every score
        and the random-vs-random null control.
    n_boot : int
        Bootstrap resamples and permutation relabellings per score.
    clf_width, clf_epochs, clf_train, clf_test : int
        The small CNN that scores samples (:mod:`otlatent.classifier`): base width, training epochs,
        training images (at most) and held-out test images (also the real reference set of FID/KID).
    vae_resolution, vae_width, vae_batch : int
        The VAE of notebooks 07-08 (:mod:`otlatent.vae`): image side (45 as in the seed report, or 64), base width
        and batch size.
    vae_epochs : float
        Passes over the VAE's training images.
    vae_max_images : int or None
        Load the first this-many images only (``None``: all of them); the last ``vae_test`` of them are held out.
    vae_test : int
        Held-out images (never trained on): reconstructions, interpolations and the scores' real reference. Their
        people are split in two blocks in file order (:func:`otlatent.trained.vae_roles`): the later one explores,
        the earlier one confirms.
    vae_replicates : int
        Independently seeded VAEs trained on the same images (notebook 07's verdicts pool over them; replicate 0 is
        the model notebook 08 reuses).
    wae_width, wae_epochs, wae_replicates : int, float, int
        The Wasserstein auto-encoders of notebook 09 (:mod:`otlatent.wae`): base width, passes over their training
        images (the VAE's, at 28 px for MNIST) and independently seeded models per objective (at least 3 where
        equivalence is to be shown: the random-effects TOST has R - 1 degrees of freedom, and with R = 2 it declares
        an exact null equivalent with probability 0, :func:`otlatent.metrics.simulated_power`).
    wgan_width, wgan_iterations : int
        The WGAN-GP of notebook 10 (:mod:`otlatent.wgan`): base width of its generator and critic, and generator
        iterations (each after ``n_critic`` = 5 critic steps; the DCGAN's resolution and batch size). A WGAN-GP
        iteration costs about ten DCGAN iterations on a CPU (five critic steps, each with a double backward pass),
        so the ``cpu`` preset trains a narrow, short one.
    n_recon : int
        Held-out images per corruption and severity in the reconstruction study (notebook 08).
    map_steps : int
        Adam steps of the MAP latent optimisation (notebook 08).

    The fields named in :data:`COUNT_FIELDS` set how much is computed (iterations, samples, repetitions); the
    others set what is computed (architecture, resolution, batch size, splits) and are kept by :func:`dry_run`.
    """

    name: str
    description: str
    n_sim: int
    n_brute: int
    n_lp: int
    grid: int
    n_trials: int
    gan_resolution: int
    gan_width: int
    gan_batch: int
    gan_epochs: float
    gan_max_images: int | None
    gan_calibration: int
    gan_replicates: int
    checkpoint_minutes: float
    n_score: int
    score_splits: int
    n_baseline: int
    n_boot: int
    clf_width: int
    clf_epochs: int
    clf_train: int
    clf_test: int
    vae_resolution: int
    vae_width: int
    vae_batch: int
    vae_epochs: float
    vae_max_images: int | None
    vae_test: int
    vae_replicates: int
    wae_width: int
    wae_epochs: float
    wae_replicates: int
    wgan_width: int
    wgan_iterations: int
    n_recon: int
    map_steps: int

    def summary(self) -> str:
        fields = (f.name for f in dataclasses.fields(self) if f.name not in ("name", "description"))
        return ", ".join(f"{k}={getattr(self, k):,}" if getattr(self, k) is not None else f"{k}=all" for k in fields)


# fmt: off
PRESETS: dict[str, Preset] = {
    "smoke": Preset(
        name="smoke",
        description="CI plumbing check: seconds per notebook, numbers are noisy",
        n_sim=20_000, n_brute=5, n_lp=20, grid=201, n_trials=40,
        gan_resolution=32, gan_width=8, gan_batch=16, gan_epochs=1, gan_max_images=512, gan_calibration=4096,
        gan_replicates=2, checkpoint_minutes=1,
        n_score=400, score_splits=2, n_baseline=3, n_boot=40, clf_width=8, clf_epochs=3, clf_train=2_000, clf_test=400,
        vae_resolution=45, vae_width=8, vae_batch=16, vae_epochs=1, vae_max_images=2_048, vae_test=512,
        vae_replicates=2, wae_width=8, wae_epochs=1, wae_replicates=2, wgan_width=8, wgan_iterations=20,
        n_recon=32,
        map_steps=20,
    ),
    "cpu": Preset(
        name="cpu",
        description="laptop / classroom: real results in minutes per notebook on 2 cores",
        n_sim=1_000_000, n_brute=7, n_lp=60, grid=801, n_trials=200,
        gan_resolution=32, gan_width=32, gan_batch=64, gan_epochs=25, gan_max_images=None, gan_calibration=4096,
        gan_replicates=3, checkpoint_minutes=3,
        n_score=5_000, score_splits=10, n_baseline=5, n_boot=200, clf_width=16, clf_epochs=8, clf_train=20_000,
        clf_test=2_000,
        vae_resolution=45, vae_width=32, vae_batch=64, vae_epochs=60, vae_max_images=None, vae_test=2_000,
        vae_replicates=3, wae_width=32, wae_epochs=20, wae_replicates=3, wgan_width=16, wgan_iterations=1_000,
        n_recon=250, map_steps=150,
    ),
    "paper": Preset(
        name="paper",
        description="the paper's scale, for a GPU machine",
        n_sim=1_000_000, n_brute=8, n_lp=200, grid=2001, n_trials=1000,
        gan_resolution=64, gan_width=64, gan_batch=128, gan_epochs=25, gan_max_images=None, gan_calibration=4096,
        gan_replicates=3, checkpoint_minutes=10,
        n_score=50_000, score_splits=10, n_baseline=5, n_boot=1_000, clf_width=32, clf_epochs=15, clf_train=50_000,
        clf_test=10_000,
        vae_resolution=64, vae_width=64, vae_batch=128, vae_epochs=100, vae_max_images=None, vae_test=2_000,
        vae_replicates=3, wae_width=64, wae_epochs=100, wae_replicates=3, wgan_width=64, wgan_iterations=100_000,
        n_recon=1_000, map_steps=500,
    ),
}
# fmt: on


#: The fields of :class:`Preset` that count work (iterations through epochs and image limits, samples, repetitions,
#: optimisation steps) rather than fix an architecture, resolution, batch size or protocol: what :func:`dry_run`
#: shrinks.
COUNT_FIELDS: tuple[str, ...] = (
    "n_sim", "n_brute", "n_lp", "grid", "n_trials",
    "gan_epochs", "gan_max_images", "gan_calibration", "gan_replicates",
    "n_score", "n_baseline", "n_boot", "clf_epochs", "clf_train", "clf_test",
    "vae_epochs", "vae_max_images", "vae_test", "vae_replicates", "wae_epochs", "wae_replicates", "wgan_iterations",
    "n_recon",
    "map_steps",
)  # fmt: skip


def dry_run(preset: Preset) -> Preset:
    """The dry run of ``preset`` (named ``<name>-dry``): its architecture, resolution, batch-size and protocol
    fields unchanged, a handful of iterations and samples.

    Every training batch is a full batch of the preset's size: one epoch over ``2 * batch`` images gives two DCGAN
    iterations; the VAE holds out a fifth of ``2 * batch + 1536`` images (enough people for notebook 07's
    roles) and takes at most five iterations (a fifth of an epoch) on the rest; and
    a finished generator's batch norm is calibrated on two batches of latents; a WGAN-GP takes three generator
    iterations, the fewest that keep three distinct generators for notebook 10's within-run test.  ``n_score`` puts
    ten images in each of the preset's ``score_splits``.  The scoring classifier gets 40 steps (5 epochs of 512
    images): at 64 px it needs about that many to beat chance on its held-out images, which notebook 06 asserts.
    """
    counts = dict(
        n_sim=20_000, n_brute=5, n_lp=20, grid=201, n_trials=40,
        gan_epochs=1, gan_max_images=2 * preset.gan_batch, gan_calibration=2 * preset.gan_batch,
        gan_replicates=2, n_score=10 * preset.score_splits, n_baseline=3, n_boot=10,
        clf_epochs=5, clf_train=512, clf_test=200,
        vae_epochs=0.2, vae_max_images=2 * preset.vae_batch + 1536, vae_test=512, vae_replicates=2,
        wae_epochs=0.2, wae_replicates=2, wgan_iterations=3, n_recon=8, map_steps=5,
    )  # fmt: skip
    assert set(counts) == set(COUNT_FIELDS)
    return dataclasses.replace(
        preset,
        name=f"{preset.name}-dry",
        description=f"dry run of {preset.name!r}: its architecture and batch sizes, a handful of iterations (CI)",
        **counts,
    )


PRESETS["paper-dry"] = dry_run(PRESETS["paper"])


def get_preset(name: str) -> Preset:
    """Return the preset called ``name``; unknown names raise ``ValueError`` listing the valid ones."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown preset {name!r}: valid presets are {', '.join(map(repr, PRESETS))}") from None


#: Datasets the study knows by name.  ``synthetic`` is procedural and always available.
DATASETS: tuple[str, ...] = ("synthetic", "mnist", "lfw", "celeba", "lsun", "lld", "cifar10")


def check_dataset(name: str) -> str:
    """Validate a dataset name; unknown names raise ``ValueError`` listing the valid ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: valid datasets are {', '.join(map(repr, DATASETS))}")
    return name


def project_root() -> Path:
    """The checkout this package was installed from (editable install), else the working directory."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "lib" / "otlatent").is_dir():
            return parent
    return Path.cwd()


def _env_path(var: str, default: Path) -> Path:
    """``$var`` if set (a relative path is taken from the project root, not the kernel's cwd), else ``default``."""
    value = os.environ.get(var)
    if not value:
        return default
    path = Path(value).expanduser()
    return (path if path.is_absolute() else project_root() / path).resolve()


def data_root() -> Path:
    """Datasets, caches and checkpoints: ``$OTLATENT_DATA``, default ``<project>/data`` (ignored by git)."""
    return _env_path("OTLATENT_DATA", project_root() / "data")


def cache_root() -> Path:
    """Decoded-dataset caches: ``$OTLATENT_CACHE``, default ``<data root>/cache`` (set it when the data root is
    read-only).
    """
    return _env_path("OTLATENT_CACHE", data_root() / "cache")


def models_root() -> Path:
    """Run folders (checkpoints, trained models): ``$OTLATENT_MODELS``, default the data root (set it when the data
    root is read-only); a run lives in ``<models root>/<config.folder>/<config.name>/``.
    """
    return _env_path("OTLATENT_MODELS", data_root())


def figures_root() -> Path:
    """Figures and tables: ``$OTLATENT_FIGURES``, default ``<project>/figures``."""
    return _env_path("OTLATENT_FIGURES", project_root() / "figures")


def build_root() -> Path:
    """Executed notebooks and other generated files: ``$OTLATENT_BUILD``, default ``<project>/build``."""
    return _env_path("OTLATENT_BUILD", project_root() / "build")
