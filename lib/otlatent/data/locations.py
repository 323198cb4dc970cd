"""Where each dataset's files are looked for under the data root, and the error when they are not there."""

from __future__ import annotations

from pathlib import Path

from ..config import check_dataset, data_root

__all__ = [
    "LAYOUT",
    "DatasetNotFoundError",
    "IncompleteDatasetError",
    "candidates",
    "locate",
    "available",
    "require",
    "mnist_images",
    "lfw_files",
    "fingerprint",
    "check_complete",
]


#: For each dataset, the paths (relative to the data root) where its files may be; the first that exists is used.
LAYOUT: dict[str, tuple[str, ...]] = {
    "synthetic": (),
    "mnist": ("mnist", "MNIST/raw"),
    "lfw": ("lfw-deepfunneled", "lfw-py/lfw-deepfunneled", "lfw-deepfunneled.tgz", "lfw-py/lfw-deepfunneled.tgz"),
    "celeba": ("celeba/img_align_celeba", "img_align_celeba"),
    "lsun": ("lsun/bedroom_train_lmdb", "bedroom_train_lmdb"),
    "lld": ("lld/LLD-icon.hdf5", "LLD-icon.hdf5"),
    "cifar10": ("cifar10/cifar-10-batches-py", "cifar-10-batches-py"),
}

_MNIST_FILES = ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte")


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not under the data root."""


class IncompleteDatasetError(RuntimeError):
    """A dataset's folder is there but its unpacking by ``make data`` did not finish."""


#: The marker ``make data`` writes beside an archive's folder while unpacking it (removed when done), and the one it
#: writes inside the folder last (:mod:`otlatent.fetch`).
UNPACKING_SUFFIX = ".unpacking"
COMPLETE_MARKER = ".complete"


def lfw_files(folder: Path) -> list[Path]:
    """The images of an LFW folder, ``<Name>/<Name>_NNNN.jpg``, sorted by path (the order of loading)."""
    return sorted(folder.glob("*/*.jpg"))


def _has_lfw_image(folder: Path) -> bool:
    return next(folder.glob("*/*.jpg"), None) is not None


def unpacking_marker(folder: Path) -> Path:
    """``<parent>/.<folder name>.unpacking``: present while ``make data`` unpacks an archive into ``folder``."""
    return folder.parent / f".{folder.name}{UNPACKING_SUFFIX}"


def check_complete(name: str, path: Path, root: Path | None = None) -> None:
    """Refuse a folder that ``make data`` is unpacking or was interrupted unpacking; warn when a folder that
    ``make data`` unpacks has no ``.complete`` marker (unpacked by hand, or by an interrupted older version).
    """
    if not path.is_dir():
        return
    if unpacking_marker(path).exists():
        raise IncompleteDatasetError(
            f"dataset {name!r}: {path} is incomplete (unpacking by `make data` did not finish: "
            f"{unpacking_marker(path)} is still there). Rerun `make data` (with the same ARCHIVES=...) to finish it"
        )
    from ..fetch import SOURCES

    root = Path(root) if root else data_root()
    if any(s.dataset == name and s.extract and path == root / s.dest for s in SOURCES):
        if not (path / COMPLETE_MARKER).exists():
            import warnings

            warnings.warn(
                f"dataset {name!r}: {path} has no {COMPLETE_MARKER} marker, so it may be an incomplete unpack. "
                f"If `make data` was interrupted, rerun it; if you unpacked it by hand, create {path / COMPLETE_MARKER}",
                stacklevel=3,
            )


def fingerprint(name: str, path: Path) -> str:
    """A cheap fingerprint of a dataset's source files (names, count, total size, newest mtime), for cache keys:
    it changes when files are added, removed, replaced or finish unpacking.
    """
    import hashlib
    import os

    def stat(p: Path) -> tuple:
        st = p.stat()
        return (p.name, st.st_size, st.st_mtime_ns)

    if path.is_file():
        parts: list = [stat(path)]
    elif name == "mnist":
        images = mnist_images(path)
        labels = Path(str(images).replace("images-idx3", "labels-idx1"))
        parts = [stat(images)] + ([stat(labels)] if labels.exists() else [])
    elif name == "lsun":
        parts = [stat(p) for p in sorted(path.glob("*.mdb")) if p.name != "lock.mdb"]
    elif name == "cifar10":
        parts = [stat(p) for p in sorted(path.glob("*_batch*"))]
    else:
        count = size = newest = 0
        pattern = "*/*.jpg" if name == "lfw" else "*.jpg"
        for p in path.glob(pattern):
            st = os.stat(p)
            count, size, newest = count + 1, size + st.st_size, max(newest, st.st_mtime_ns)
        parts = [count, size, newest]
        partition = path.parent / "list_eval_partition.txt"
        if name == "celeba" and partition.is_file():
            parts.append(stat(partition))
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


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
        elif name == "lfw" and path.is_dir():
            if _has_lfw_image(path):  # an empty folder, or one without <Name>/<Name>_NNNN.jpg, is not LFW
                return path
        elif name == "cifar10" and path.is_dir():
            if (path / "data_batch_1").is_file() or (path / "test_batch").is_file():
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
        found = [p for p in candidates(name, root) if p.exists()]
        why = ""
        if found:
            what = "<Name>/<Name>_NNNN.jpg images" if name == "lfw" else "the dataset's files"
            why = f" ({', '.join(map(str, found))} exists but holds no {what})"
        raise DatasetNotFoundError(f"dataset {name!r} not found: expected {expected}{why}. To get it: {how}")
    return path
