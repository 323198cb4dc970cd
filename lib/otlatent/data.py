"""Where each dataset lives under the data root, and whether it is there.

The loaders themselves build on this table (see the datasets issue); every
notebook that takes a ``dataset`` parameter falls back to ``synthetic``, the
embedded procedural dataset, which needs no files.
"""
from __future__ import annotations

from pathlib import Path

from .config import check_dataset, data_root

__all__ = ["LAYOUT", "candidates", "locate", "available"]

#: For each dataset, the paths (relative to the data root) where its files may be; the first that exists is used.
LAYOUT: dict[str, tuple[str, ...]] = {
    "synthetic": (),
    "mnist": ("mnist/train-images-idx3-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz",
              "mnist/train-images-idx3-ubyte", "mnist/t10k-images-idx3-ubyte",
              "MNIST/raw/train-images-idx3-ubyte", "MNIST/raw/t10k-images-idx3-ubyte"),
    "lfw": ("lfw-deepfunneled", "lfw-py/lfw-deepfunneled", "lfw-deepfunneled.tgz"),
    "celeba": ("celeba/img_align_celeba",),
    "lsun": ("lsun/bedroom_train_lmdb", "bedroom_train_lmdb"),
    "lld": ("lld/LLD-icon.hdf5", "LLD-icon.hdf5"),
}


def candidates(name: str, root: Path | None = None) -> list[Path]:
    """Every path where the files of dataset ``name`` are looked for."""
    check_dataset(name)
    root = Path(root) if root else data_root()
    return [root / rel for rel in LAYOUT[name]]


def locate(name: str, root: Path | None = None) -> Path | None:
    """The first existing path of dataset ``name`` under the data root, or ``None``."""
    return next((p for p in candidates(name, root) if p.exists()), None)


def available(name: str, root: Path | None = None) -> bool:
    """Whether dataset ``name`` can be loaded (``synthetic`` always can)."""
    return name == "synthetic" or locate(name, root) is not None
