"""Seeding, device choice, torch threads and atomic writes."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "seed_everything",
    "check_seed",
    "pick_device",
    "atomic_write",
    "WriteFailed",
    "remove_stale_temps",
    "save_checkpoint",
    "load_checkpoint",
    "torch_threads",
]


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and torch's global generators; return a fresh NumPy ``Generator``.

    Library functions take explicit seeds or generators; this call covers the
    code that uses the global state (torch's default generator, cuDNN choices).
    """
    check_seed(seed)
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - the legacy global generator is what this call seeds
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    else:
        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)


def check_seed(seed, name: str = "seed") -> int:
    """Validate a seed: an integer in [0, 2**64) (torch's generators take no more); return it as an int."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise ValueError(f"{name} must be an integer in [0, 2**64), got {seed!r}")
    return int(seed)


def pick_device(preference: str | None = None) -> str:
    """Return ``"cuda"``, then ``"mps"``, then ``"cpu"``, whichever is first available.

    ``preference`` (or the environment variable ``OTLATENT_DEVICE``) overrides the
    choice; asking for a device that is not available raises ``ValueError``.
    """
    import torch

    preference = preference or os.environ.get("OTLATENT_DEVICE") or None
    available = ["cpu"]
    if torch.backends.mps.is_available():
        available.insert(0, "mps")
    if torch.cuda.is_available():
        available.insert(0, "cuda")
    if preference is None:
        return available[0]
    kind = preference.split(":")[0]
    if kind not in available:
        raise ValueError(f"device {preference!r} is not available here; available: {', '.join(available)}")
    return preference


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``.

    A reader (or a resumed run) sees either the old file or the complete new
    one, never a half-written file, even if the process is killed mid-write.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OSError(
            f"cannot write {path}: {path.parent} is not a writable folder ({type(exc).__name__}: {exc}). With a "
            "read-only data root, set OTLATENT_MODELS (run folders) and OTLATENT_CACHE (dataset caches) to "
            "writable folders"
        ) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp's 0600 would keep a shared data root private
        try:
            write(tmp_path)
        except OSError as exc:  # e.g. ENOSPC: same errno, a message naming the file and the fix
            raise OSError(exc.errno, _write_failed(path, exc)) from exc
        except RuntimeError as exc:  # torch.save on a full disk: "unexpected pos 128 vs 0"
            raise WriteFailed(_write_failed(path, exc)) from exc
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


class WriteFailed(RuntimeError):
    """An :func:`atomic_write` whose writer failed; the message names the file, says the old one is intact and what
    to do.
    """


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_failed(path: Path, exc: Exception) -> str:
    import shutil

    try:
        free = f"{shutil.disk_usage(path.parent).free / 2**20:,.0f} MiB free"
    except OSError:
        free = "free space unknown"
    return (
        f"writing {path} failed ({type(exc).__name__}: {exc}); the previous {path.name}, if any, is intact. "
        f"{path.parent} has {free}: if the disk is full, free space (or set OTLATENT_DATA / OTLATENT_MODELS / "
        "OTLATENT_CACHE to another disk) and rerun"
    )


def remove_stale_temps(path: str | os.PathLike) -> int:
    """Delete the temporary files that killed :func:`atomic_write` calls of ``path`` left
    (``.<name>.*.tmp`` beside it); return how many. Call it when a run (re)starts.
    """
    path = Path(path)
    count = 0
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            tmp.unlink()
            count += 1
        except FileNotFoundError:
            pass
    return count


def save_checkpoint(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def load_checkpoint(path: str | os.PathLike, map_location: str = "cpu") -> Any:
    """Load a checkpoint written by :func:`save_checkpoint` (tensors mapped to ``map_location``)."""
    import torch

    return torch.load(Path(path), map_location=map_location, weights_only=False)


def _torch():
    import torch

    return torch


class torch_threads:
    """Run a block with ``n`` torch threads.

    The study's scoring works on small matrices and small convolutions; on a machine whose cores are shared (a
    GAN training next door, CI), torch's thread pool then spends more time waiting than computing -- measured
    here: 0.36 s on one thread against 12.7 s on two for the same small training run.  One thread is the safe
    default for such work; the result does not depend on it.
    """

    def __init__(self, n: int = 1):
        self.n = n

    def __enter__(self):
        self.old = _torch().get_num_threads()
        _torch().set_num_threads(self.n)

    def __exit__(self, *exc):
        _torch().set_num_threads(self.old)
