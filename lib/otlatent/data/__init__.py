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

Missing data raises :class:`DatasetNotFoundError` naming the expected path and
how to obtain it.  Unreadable images are skipped and counted in a warning; a
dataset with none readable is an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import check_dataset, data_root
from ..runtime import atomic_write
from .formats import decode_dataset, lfw_identities, read_idx
from .images import ImageSet, to_float, to_uint8, to_unit
from .locations import LAYOUT, DatasetNotFoundError, available, candidates, locate, require
from .synthetic import SYNTHETIC_CLASSES, make_synthetic

__all__ = [
    "LAYOUT",
    "ImageSet",
    "DatasetNotFoundError",
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
CACHE_VERSION = 1

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
        Read/write ``<root>/cache/<name>_<resolution>_....npz``.

    Raises
    ------
    DatasetNotFoundError
        When the files are missing: the message names the expected paths and how to get them.
    ValueError
        For an unknown name, or when no image can be decoded.
    """
    check_dataset(name)
    if split not in (None, "train", "valid", "test"):
        raise ValueError(f"split must be 'train', 'valid', 'test' or None, got {split!r}")
    root = Path(root) if root else data_root()
    if name == "synthetic":
        return make_synthetic(10_000 if n is None else n, resolution, seed)
    path = require(name, root)
    crop = DEFAULT_CROP.get(name) if crop == -1 else crop
    key = f"{name}_{resolution}px_crop{crop}_n{n}_{split}_v{CACHE_VERSION}.npz"
    cache_path = root / "cache" / key
    if cache and cache_path.is_file():
        with np.load(cache_path, allow_pickle=False) as z:
            labels = z["labels"] if "labels" in z.files else None
            return ImageSet(name, z["images"], labels, str(z["source"]))
    images, labels, source = decode_dataset(name, path, resolution, n, crop, split)
    if cache:
        arrays = {"images": images, "source": np.array(source)}
        if labels is not None:
            arrays["labels"] = labels

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        atomic_write(cache_path, write)
    return ImageSet(name, images, labels, source)
