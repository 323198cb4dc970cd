"""Where each dataset's files are looked for under the data root, and the error when they are not there."""

from __future__ import annotations

from pathlib import Path

from ..config import check_dataset, data_root

__all__ = ["LAYOUT", "DatasetNotFoundError", "candidates", "locate", "available", "require", "mnist_images"]


#: For each dataset, the paths (relative to the data root) where its files may be; the first that exists is used.
LAYOUT: dict[str, tuple[str, ...]] = {
    "synthetic": (),
    "mnist": ("mnist", "MNIST/raw"),
    "lfw": ("lfw-deepfunneled", "lfw-py/lfw-deepfunneled", "lfw-deepfunneled.tgz", "lfw-py/lfw-deepfunneled.tgz"),
    "celeba": ("celeba/img_align_celeba", "img_align_celeba"),
    "lsun": ("lsun/bedroom_train_lmdb", "bedroom_train_lmdb"),
    "lld": ("lld/LLD-icon.hdf5", "LLD-icon.hdf5"),
}

_MNIST_FILES = ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte")


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not under the data root."""


def candidates(name: str, root: Path | None = None) -> list[Path]:
    """Every path where the files of dataset ``name`` are looked for."""
    check_dataset(name)
    root = Path(root) if root else data_root()
    return [root / rel for rel in LAYOUT[name]]


def mnist_images(folder: Path) -> Path | None:
    for stem in _MNIST_FILES:
        for suffix in (".gz", ""):
            if (folder / (stem + suffix)).is_file():
                return folder / (stem + suffix)
    return None


def locate(name: str, root: Path | None = None) -> Path | None:
    """The first existing path of dataset ``name`` under the data root, or ``None``."""
    for path in candidates(name, root):
        if name == "mnist":
            if path.is_dir() and mnist_images(path) is not None:
                return path
        elif path.exists():
            return path
    return None


def available(name: str, root: Path | None = None) -> bool:
    """Whether dataset ``name`` can be loaded (``synthetic`` always can)."""
    return name == "synthetic" or locate(name, root) is not None


def require(name: str, root: Path | None) -> Path:
    path = locate(name, root)
    if path is None:
        from ..fetch import SOURCES

        how = next((s.how_to_get for s in SOURCES if s.dataset == name), "")
        expected = " or ".join(str(p) for p in candidates(name, root))
        raise DatasetNotFoundError(f"dataset {name!r} not found: expected {expected}. To get it: {how}")
    return path
