"""Image datasets by name, as float tensors in [-1, 1] of shape (N, C, H, W).

``load(name, resolution)`` decodes a dataset once, caches it as a uint8 array
under ``<data root>/cache/`` and returns an :class:`ImageSet`.  Known names:

``synthetic``
    The study's embedded procedural dataset: ten shape classes drawn with random
    colours, gradients, stripes and noise.  Deterministic from its seed, no files.
``mnist``
    IDX files (``mnist/`` or torchvision's ``MNIST/raw/``), gzipped or not; the
    training split when present, else the test split.  1 channel, padded/resized.
``lfw``
    LFW deep-funneled: the ``lfw-deepfunneled/<Name>/<Name>_NNNN.jpg`` folder or
    the ``lfw-deepfunneled.tgz`` archive; a centre crop, then a resize.
``celeba``
    ``celeba/img_align_celeba/*.jpg`` (any resolution); centre crop, resize;
    ``list_eval_partition.txt`` beside it selects a split when present.
``lsun``
    The LSUN bedroom LMDB (``lsun/bedroom_train_lmdb``): values are WebP/JPEG bytes.
``lld``
    LLD-icon (``lld/LLD-icon.hdf5``): 32x32 RGB icons in the HDF5 dataset ``data``
    stored (N, 3, 32, 32) uint8 (channel-last files are accepted too).
``cifar10``
    CIFAR-10, python version (``cifar10/cifar-10-batches-py/``, the layout torchvision's ``CIFAR10`` reads):
    pickled batches ``data_batch_1`` ... ``data_batch_5`` (the training split) and ``test_batch``; labels 0-9.

Missing data raises :class:`DatasetNotFoundError` naming the expected path and
how to obtain it.  Unreadable images are skipped and counted in a warning; a
dataset with none readable is an error.
"""

from __future__ import annotations

import numbers
import warnings
from pathlib import Path

import numpy as np

from ..config import cache_root, check_dataset, data_root  # noqa: F401 - cache_root is re-exported
from ..runtime import atomic_write
from .formats import decode_dataset, lfw_identities, read_idx
from .images import ImageSet, as_float, to_float, to_uint8, to_unit
from .locations import (
    LAYOUT,
    DatasetNotFoundError,
    IncompleteDatasetError,
    available,
    candidates,
    check_complete,
    fingerprint,
    locate,
    require,
)
from .synthetic import SYNTHETIC_CLASSES, make_synthetic

__all__ = [
    "LAYOUT",
    "ImageSet",
    "DatasetNotFoundError",
    "IncompleteDatasetError",
    "candidates",
    "locate",
    "available",
    "load",
    "make_synthetic",
    "SYNTHETIC_CLASSES",
    "read_idx",
    "to_float",
    "to_uint8",
    "to_unit",
    "lfw_identities",
]

#: Bump when decoding or preprocessing changes, so that old caches are not reused.
#: 2: the key holds a fingerprint of the source files; LFW caches hold the person of every image.
CACHE_VERSION = 2

DEFAULT_CROP = {"lfw": 150, "celeba": 108, "lsun": None}


def load(
    name: str,
    resolution: int = 32,
    n: int | None = None,
    seed: int = 0,
    root: str | Path | None = None,
    crop: int | None = -1,
    split: str | None = None,
    cache: bool = True,
) -> ImageSet:
    """Load dataset ``name`` at ``resolution`` px as an :class:`ImageSet` (decoded once, then cached).

    Parameters
    ----------
    name : str
        One of :data:`otlatent.config.DATASETS`.
    resolution : int
        Output side in pixels (images are square).
    n : int, optional
        Number of images: the first ``n`` in file order (``synthetic``: how many
        to draw, default 10^4).  ``None`` loads all.
    seed : int
        Seed of the ``synthetic`` generator (ignored by file datasets).
    root : path, optional
        The data root; default :func:`otlatent.config.data_root`.
    crop : int or None
        Centre-crop side in source pixels before resizing (photo datasets);
        ``-1`` means the dataset's default (:data:`DEFAULT_CROP`), ``None`` the
        shorter side.
    split : {"train", "valid", "test"}, optional
        CelebA's official partition, when ``list_eval_partition.txt`` is present.
    cache : bool
        Read/write ``<cache root>/<name>_<resolution>px_..._<fingerprint>.npz`` (``<root>/cache`` with ``root``,
        else :func:`otlatent.config.cache_root`: ``$OTLATENT_CACHE`` or ``<data root>/cache``). The key holds a
        fingerprint of the source files, so a cache is rebuilt when they change.

    Raises
    ------
    DatasetNotFoundError
        When the files are missing: the message names the expected paths and how to get them.
    ValueError
        For an unknown name, an invalid ``n``, ``resolution`` or ``crop``, or when no image can be decoded.
    IncompleteDatasetError
        When ``make data`` is unpacking the dataset's folder, or was interrupted doing so.
    """
    check_dataset(name)
    if split not in (None, "train", "valid", "test"):
        raise ValueError(f"split must be 'train', 'valid', 'test' or None, got {split!r}")
    _check_count("resolution", resolution, "the image side in pixels, e.g. resolution=32")
    if n is not None:
        _check_count("n", n, "the number of images, or n=None for all of them")
    if crop is not None and crop != -1:
        _check_count("crop", crop, "the centre-crop side in source pixels, crop=None (shorter side) or -1 (default)")
    root_given = root is not None and str(root) != ""
    root = Path(root) if root else data_root()
    if name == "synthetic":
        return make_synthetic(10_000 if n is None else n, resolution, seed)
    path = require(name, root)
    check_complete(name, path, root)
    crop = DEFAULT_CROP.get(name) if crop == -1 else crop
    key = f"{name}_{resolution}px_crop{crop}_n{n}_{split}_v{CACHE_VERSION}_{fingerprint(name, path)}.npz"
    cache_path = (root / "cache" if root_given else cache_root()) / key
    if cache and cache_path.is_file():
        cached = _read_cache(name, cache_path)
        if cached is not None:
            return cached
    identities: list = []
    images, labels, source = decode_dataset(name, path, resolution, n, crop, split, identities)
    people = np.array(identities) if name == "lfw" else None
    if cache:
        arrays = {"images": images, "source": np.array(source)}
        if labels is not None:
            arrays["labels"] = labels
        if people is not None:
            arrays["identities"] = people

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        try:
            atomic_write(cache_path, write)
        except OSError as exc:
            warnings.warn(
                f"could not write the cache {cache_path} ({exc}); the images are decoded again next time. "
                "Set OTLATENT_CACHE to a writable folder (e.g. when the data root is read-only)",
                stacklevel=2,
            )
    return ImageSet(name, images, labels, source, people)


def _check_count(param: str, value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{param} must be a positive integer ({what}), got {value!r}")


def _read_cache(name: str, cache_path: Path) -> ImageSet | None:
    """The cached image set, or ``None`` (after setting an unreadable cache file aside, with a warning)."""
    try:
        with np.load(cache_path, allow_pickle=False) as z:
            labels = z["labels"] if "labels" in z.files else None
            people = z["identities"] if "identities" in z.files else None
            images = z["images"]
            source = str(z["source"])
        if name == "lfw" and (people is None or len(people) != len(images)):
            raise ValueError("no person of every image")
        return ImageSet(name, images, labels, source, people)
    except Exception as exc:  # truncated, empty or garbage: zipfile, EOF, pickle, key and value errors
        aside = cache_path.with_name(cache_path.name + ".corrupt")
        try:
            cache_path.replace(aside)
            moved = f"moved it to {aside} and"
        except OSError:
            moved = "could not move it aside (delete it);"
        warnings.warn(
            f"unreadable dataset cache {cache_path} ({type(exc).__name__}: {exc}); {moved} rebuilding it from the "
            "source files",
            stacklevel=3,
        )
        return None
