"""The run machinery every trainer shares: configs, run folders, reload-or-continue, resume, checkpoints.

A trainer (:mod:`otlatent.dcgan`, :mod:`otlatent.vae`, :mod:`otlatent.classifier`) holds its model's step and
little else:

1. its config is a frozen dataclass deriving from :class:`RunConfig` (validated sizes, a run name, a folder);
2. :func:`finished_run` returns the finished model when one with an equal config exists;
3. a :class:`Training` restores a matching checkpoint, yields the iterations with a progress bar, records
   and checks the terms of each step (:class:`TrainingDiverged` on NaN or inf), checkpoints atomically every few
   minutes, and at the end writes the last checkpoint and, when the schedule is complete, the model with its
   metadata (:meth:`Training.save_model`).

Every random choice of iteration ``i`` (its batch, its latents) is a function of ``(seed, i)`` alone
(:func:`batch_indices`, :func:`iteration_seed`), so a run interrupted at any point and resumed from its last
checkpoint ends with the same weights as an uninterrupted one.

Under ``torchrun`` (:mod:`otlatent.distributed`) rank 0 alone writes the checkpoints and the finished model and
shows the progress bar; it looks at the run folder first (sets aside what is unreadable), then every rank reads
the same finished model or checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import __version__, distributed
from .precision import check_precision
from .runtime import check_seed, load_checkpoint, remove_stale_temps, save_checkpoint

__all__ = [
    "TrainingDiverged",
    "RunFolderConflict",
    "config_differences",
    "RunConfig",
    "ModelConfig",
    "run_paths",
    "finished_run",
    "check_images",
    "resume_state",
    "check_finite",
    "Checkpointer",
    "show_progress",
    "progress_bar",
    "model_meta",
    "batch_indices",
    "iteration_seed",
    "training_state",
    "Training",
]


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Base of every run's config: two runs with equal configs give equal weights.

    Subclasses are frozen dataclasses that list their own fields and set the class attributes ``positive``
    (fields that must be > 0) and ``folder`` (the run's parent folder under the data root). ``lr``, when a
    config has one, must lie in (0, 1).
    """

    seed: int = 0
    preset: str = "cpu"

    positive: ClassVar[tuple[str, ...]] = ()
    folder: ClassVar[str] = "models"

    def __post_init__(self):
        check_seed(self.seed)
        for field in self.positive:
            if getattr(self, field) <= 0:
                raise ValueError(f"{field} must be positive, got {getattr(self, field)}")
        lr = getattr(self, "lr", None)
        if lr is not None and not 0 < lr < 1:
            raise ValueError(f"learning rate must be in (0, 1), got {lr}")

    @property
    def name(self) -> str:
        raise NotImplementedError

    def run_dir(self, root: Path | None = None) -> Path:
        """Where the run keeps its checkpoint and final model: ``<models root>/<folder>/<name>/`` (the models root
        is ``$OTLATENT_MODELS``, default the data root: :func:`otlatent.config.models_root`).
        """
        from .config import models_root

        return (Path(root) if root else models_root()) / self.folder / self.name


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelConfig(RunConfig):
    """A generative model trained by iterations on images: the fields that every such run shares.

    A subclass changes a default by redeclaring the field keyword-only, e.g.
    ``resolution: int = dataclasses.field(default=45, kw_only=True)``. ``precision`` is the format the forward
    passes compute in (:mod:`otlatent.precision`); a subclass's ``name`` ends with :attr:`precision_suffix`.
    """

    resolution: int = 32
    nc: int = 3
    nz: int = 100
    width: int = 64
    batch_size: int = 64
    iterations: int = 1000
    lr: float = 2e-4
    precision: str = "fp32"

    positive: ClassVar[tuple[str, ...]] = ("nc", "nz", "width", "batch_size", "iterations")

    def __post_init__(self):
        check_precision(self.precision)
        super().__post_init__()

    @property
    def precision_suffix(self) -> str:
        """``""`` for fp32, ``"_bf16"`` / ``"_fp16"`` otherwise: the end of a run name (:mod:`otlatent.precision`)."""
        return "" if self.precision == "fp32" else f"_{self.precision}"


def run_paths(config: RunConfig, run_dir: Path | None = None) -> tuple[Path, Path]:
    """``(model.pt, checkpoint.pt)`` of a run: its finished model and its training state."""
    run_dir = Path(run_dir) if run_dir else config.run_dir()
    return run_dir / "model.pt", run_dir / "checkpoint.pt"


def check_images(shape, config) -> None:
    """Raise ``ValueError`` unless image ``shape[1:]`` is ``(config.nc, config.resolution, config.resolution)``."""
    if tuple(shape[1:]) != (config.nc, config.resolution, config.resolution):
        raise ValueError(
            f"images have shape {tuple(shape[1:])}, config expects "
            f"({config.nc}, {config.resolution}, {config.resolution})"
        )


class RunFolderConflict(FileExistsError):
    """A run folder holds the model or checkpoint of another config with the same run name."""


def config_differences(stored: dict, config: RunConfig) -> str:
    """``field: stored -> asked`` for every field where a stored config (a dict) differs from ``config``."""
    asked = dataclasses.asdict(config)
    keys = sorted(set(stored) | set(asked))
    return ", ".join(
        f"{k}: {stored.get(k, '<absent>')!r} (stored) vs {asked.get(k, '<absent>')!r} (asked)"
        for k in keys
        if stored.get(k, "<absent>") != asked.get(k, "<absent>")
    )


def set_aside(path: Path, why: str, then: str) -> Path:
    """Rename an unreadable or superseded run file to ``<name>.<UTC time>.bad`` and warn, naming both paths."""
    import warnings

    aside = path.with_name(f"{path.name}.{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}.bad")
    path.replace(aside)
    warnings.warn(f"{path}: {why}; moved it to {aside} and {then}", stacklevel=3)
    return aside


def _conflict(path: Path, stored: dict, config: RunConfig, what: str) -> RunFolderConflict:
    return RunFolderConflict(
        f"{path} holds the {what} of another configuration under the same run name {config.name!r} "
        f"({config_differences(stored, config)}); it is not overwritten. Delete {path.parent} to train this "
        "configuration there, or give this run another seed or preset (the run name) to keep both"
    )


def _same_config(stored: dict, config: RunConfig) -> bool:
    """Whether a stored config (fields missing there take their defaults, as on resume) equals ``config``."""
    try:
        return type(config)(**stored) == config
    except (TypeError, ValueError):
        return False


def _stored_config(path: Path, device: str) -> dict:
    return load_checkpoint(path, device)["config"]


def finished_run(config: RunConfig, images_u8, run_dir: Path | None, load, device: str):
    """Check ``images_u8`` against ``config`` and return ``(model_path, ckpt_path, run)``: ``run`` is the finished
    run in ``model_path`` (reloaded by ``load(path, device)``) when its config equals ``config``, else ``None``.

    A finished model or checkpoint of another config is never overwritten: in the default folder (``run_dir`` None,
    named by ``config.name``) it raises :class:`RunFolderConflict` naming the differences and the fix; in a folder
    the caller chose it is set aside (``model.pt.<time>.bad``, ``checkpoint.pt.<time>.bad``) with a warning.
    An unreadable ``model.pt`` (truncated, empty, garbage) is set aside with a warning and the run is trained again.
    Under torchrun rank 0 does this first, then the other ranks (:func:`otlatent.distributed.main_first`).
    """
    with distributed.main_first():
        return _finished_run(config, images_u8, run_dir, load, device)


def _finished_run(config: RunConfig, images_u8, run_dir: Path | None, load, device: str):
    default = run_dir is None
    model_path, ckpt_path = run_paths(config, run_dir)
    check_images(images_u8.shape, config)
    if model_path.exists():
        try:
            run = load(model_path, device)
        except Exception as exc:  # torch's PytorchStreamReader, EOF, unpickling or a config that does not build
            set_aside(model_path, f"unreadable finished model ({type(exc).__name__}: {exc})", "training it again")
            return model_path, ckpt_path, None
        if run.config == config:
            return model_path, ckpt_path, run
        stored = dataclasses.asdict(run.config)
        if default:
            raise _conflict(model_path, stored, config, "finished model")
        set_aside(
            model_path,
            f"finished model of another configuration ({config_differences(stored, config)})",
            "training this one",
        )
    if ckpt_path.exists():
        try:
            stored = _stored_config(ckpt_path, device)
        except Exception:  # unreadable: resume_state sets it aside
            stored = None
        if stored is not None and not _same_config(stored, config):
            if default:
                raise _conflict(ckpt_path, stored, config, "training checkpoint")
            set_aside(
                ckpt_path,
                f"training checkpoint of another configuration ({config_differences(stored, config)})",
                "starting this one",
            )
    return model_path, ckpt_path, None


def resume_state(ckpt_path: Path, config: RunConfig, device: str) -> dict | None:
    """The training state at ``ckpt_path`` if it belongs to ``config`` (same class, equal fields), else ``None``.

    An unreadable checkpoint (truncated, empty, garbage) is set aside with a warning, and training starts over.
    """
    if not ckpt_path.exists():
        return None
    try:
        state = load_checkpoint(ckpt_path, device)
        same = type(config)(**state["config"]) == config
    except Exception as exc:  # PytorchStreamReader, EOFError, UnpicklingError, a config that does not build
        set_aside(ckpt_path, f"unreadable checkpoint ({type(exc).__name__}: {exc})", "starting the run over")
        return None
    return state if same else None


def check_finite(config: RunConfig, iteration: int, ckpt_path: Path, **terms: float) -> None:
    """Raise :class:`TrainingDiverged` naming the iteration, the terms and the last good checkpoint."""
    if not all(np.isfinite(v) for v in terms.values()):
        values = ", ".join(f"{k}={v}" for k, v in terms.items())
        raise TrainingDiverged(
            f"{config.name}: training diverged at iteration {iteration}: {values}. Lower the "
            f"learning rate or check the data; the last good checkpoint is "
            f"{ckpt_path if ckpt_path.exists() else 'not written yet'}"
        )


class Checkpointer:
    """Writes the training state atomically every ``minutes`` of wall time (and on demand); under torchrun only
    rank 0 writes (every rank holds the same state), and the others do nothing here.
    """

    def __init__(self, path: Path, minutes: float):
        self.path, self.seconds, self.last = path, 60 * minutes, time.monotonic()
        self.writes = distributed.is_main()

    def save(self, state: dict) -> None:
        if self.writes:
            save_checkpoint(state, self.path)
        self.last = time.monotonic()

    def maybe(self, make_state) -> None:
        """Save ``make_state()`` if the interval has passed (the state is only built then)."""
        if self.writes and time.monotonic() - self.last > self.seconds:
            self.save(make_state())


def show_progress(progress: bool = True) -> bool:
    """Whether to show progress bars: ``progress``, unless ``$OTLATENT_PROGRESS`` is ``0`` (``make reproduce`` and
    ``make test`` set it, so that executed notebooks keep results, not hundreds of bar updates).
    """
    return bool(progress) and os.environ.get("OTLATENT_PROGRESS", "1") != "0"


def progress_bar(name: str, start: int, end: int, total: int, progress: bool, unit: str = "it"):
    """A tqdm bar over iterations ``start..end`` out of ``total``, named after the run; inside a worker of
    :func:`otlatent.side_by_side.run_side_by_side`, the iterations reported to the calling process's bar instead.
    """
    from tqdm import tqdm

    from .side_by_side import _ReportingBar, progress_reporter

    queue = progress_reporter()
    if queue is not None and progress:
        return _ReportingBar(queue, name, start, end, total, unit)
    return tqdm(
        range(start, end),
        initial=start,
        total=total,
        disable=not show_progress(progress),
        desc=name,
        unit=unit,
        mininterval=2.0,
    )


def model_meta(config: RunConfig, images, device: str, seconds: float, **extra) -> dict:
    """The metadata saved with a finished model."""
    return {
        **dataclasses.asdict(config),
        "images": len(images),
        "source": images.source,
        "device": device,
        "wall_seconds": seconds,
        **extra,
    }


def batch_indices(n: int, batch: int, seed: int, iteration: int) -> np.ndarray:
    """The images of ``iteration``: epoch-wise permutations seeded by (seed, epoch), no image twice per epoch."""
    per_epoch = n // batch
    if per_epoch == 0:
        raise ValueError(f"dataset of {n} images is smaller than one batch of {batch}")
    epoch, k = divmod(iteration, per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return perm[k * batch : (k + 1) * batch]


def iteration_seed(seed: int, iteration: int) -> int:
    """The seed of iteration ``iteration``'s random draws (latents, noise): a function of ``(seed, iteration)``."""
    return int(np.random.default_rng([seed, iteration, 7]).integers(2**62))


def training_state(
    config: RunConfig, parts: dict, history: dict, iteration: int, seconds: float, **extra
) -> dict[str, Any]:
    """A checkpoint: the config, each part's ``state_dict()`` under its name (models and optimisers), the
    history as arrays, the iteration reached, the seconds spent and the package version.
    """
    return {
        "config": dataclasses.asdict(config),
        **{k: v.state_dict() for k, v in parts.items()},
        "history": {k: np.asarray(v) for k, v in history.items()},
        "iteration": iteration,
        "seconds": seconds,
        "version": __version__,
        **extra,
    }


class Training:
    """The bookkeeping of one resumable training run around a trainer's own step.

    Parameters
    ----------
    config : RunConfig
        Needs ``iterations`` and ``name``.
    parts : dict
        The models and optimisers, by the names under which the checkpoint keeps them.
    history : sequence of str
        The per-iteration terms recorded by :meth:`record`.
    ckpt_path : Path
        The checkpoint (from :func:`finished_run`); a checkpoint of an equal config is restored into ``parts``.
    finite : sequence of str
        The terms that must stay finite (default: all of ``history``).
    extra : sequence of str
        Further checkpoint entries kept across a resume (e.g. snapshots), in :attr:`extra`.

    Under torchrun every rank holds a ``Training``: each restores the same checkpoint (rank 0 first looks at it
    and sets it aside when unreadable), rank 0 alone shows the bar and writes, and :meth:`finish` and
    :meth:`save_model` return on every rank once the file is written.
    """

    def __init__(
        self,
        config,
        parts: dict,
        history,
        ckpt_path: Path,
        device: str = "cpu",
        checkpoint_minutes: float = 3.0,
        stop_after: int | None = None,
        progress: bool = True,
        finite=None,
        extra=(),
    ):
        self.config, self.parts, self.ckpt_path = config, parts, ckpt_path
        self.progress = progress and distributed.is_main()
        self.history: dict[str, list] = {k: [] for k in history}
        self.finite = tuple(history if finite is None else finite)
        self.extra = {k: [] for k in extra}
        self.start, self.seconds = 0, 0.0
        with distributed.main_first():
            for leftover in (ckpt_path, ckpt_path.with_name("model.pt")):  # from writes killed in earlier sessions
                remove_stale_temps(leftover)
            state = resume_state(ckpt_path, config, device)
        if state is not None:
            for k, part in parts.items():
                part.load_state_dict(state[k])
            self.history = {k: list(state["history"][k]) for k in history}
            self.extra = {k: state[k] for k in extra}
            self.start, self.seconds = state["iteration"], state["seconds"]
        self.end = config.iterations if stop_after is None else min(stop_after, config.iterations)
        self.checkpoints = Checkpointer(ckpt_path, checkpoint_minutes)
        self.bar = None
        self._t0 = time.monotonic()

    def iterations(self):
        """The iterations still to run, with a progress bar."""
        self.bar = progress_bar(self.config.name, self.start, self.end, self.config.iterations, self.progress)
        self._t0 = time.monotonic()
        return self.bar

    def state(self, iteration: int, seconds: float) -> dict:
        return training_state(self.config, self.parts, self.history, iteration, seconds, **self.extra)

    def record(self, i: int, show=(), **terms: float) -> None:
        """Check and append iteration ``i``'s terms, show ``show`` of them on the bar, checkpoint if it is time."""
        check_finite(self.config, i, self.ckpt_path, **{k: terms[k] for k in self.finite})
        for k, v in terms.items():
            self.history[k].append(v)
        if self.progress and i % 20 == 0 and show:
            self.bar.set_postfix({k: f"{terms[k]:.3g}" for k in show}, refresh=False)
        self.checkpoints.maybe(lambda: self.state(i + 1, self.seconds + time.monotonic() - self._t0))

    def finish(self) -> tuple[int, dict[str, np.ndarray]]:
        """Close the bar and write the last checkpoint; return the iteration reached and the history as arrays."""
        if self.bar is not None:
            self.bar.close()
        self.done = max(self.end, self.start)
        self.seconds += time.monotonic() - self._t0
        self.checkpoints.save(self.state(self.done, self.seconds))
        distributed.barrier()  # the checkpoint is on disk for every rank
        return self.done, {k: np.asarray(v, dtype=np.float64) for k, v in self.history.items()}

    @property
    def complete(self) -> bool:
        """Whether the schedule is done (after :meth:`finish`)."""
        return self.done >= self.config.iterations

    def save_model(
        self, path: Path, models: dict, history: dict, images, device: str, meta: dict | None = None, **extra
    ) -> None:
        """Write the finished model: a :func:`training_state` of ``models`` (no optimisers) with its metadata (rank 0
        writes it; every rank returns once it is on disk).
        """
        if distributed.is_main():
            meta = model_meta(self.config, images, device, self.seconds, **(meta or {}))
            state = training_state(self.config, models, history, self.done, self.seconds, **extra, meta=meta)
            save_checkpoint(state, path)
        distributed.barrier()
