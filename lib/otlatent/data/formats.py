"""Readers of the datasets' file formats: IDX (MNIST), JPEG folders and archives (LFW, CelebA), LMDB (LSUN),
HDF5 (LLD-icon); decoding, centre crop and resize."""

from __future__ import annotations

import gzip
import io
import tarfile
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np

from .locations import lfw_files, locate, mnist_images

__all__ = ["read_idx", "lfw_identities", "decode_all", "decode_dataset"]


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST's format; gzipped or not) into a numpy array.

    The header is two zero bytes, a type code (0x08 = uint8), the number of
    dimensions, then one big-endian int32 per dimension.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ValueError(
            f"{path}: truncated or corrupt gzip file ({type(exc).__name__}: {exc}); delete it and rerun `make data`"
        ) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    expected = int(np.prod(dims))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != expected:
        raise ValueError(f"{path}: truncated IDX file ({data.size} bytes of data, header says {expected})")
    return data.reshape(tuple(int(d) for d in dims)).copy()


def _square_resize(img, resolution: int, crop: int | None):
    """Centre-crop a PIL image to ``crop`` px (or its shorter side), then resize to ``resolution`` (antialiased)."""
    from PIL import Image

    w, h = img.size
    side = min(w, h) if crop is None else min(crop, w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    return img.resize((resolution, resolution), Image.BICUBIC, reducing_gap=3.0)


def decode_all(
    items: Iterable[tuple[str, Callable[[], bytes]]],
    resolution: int,
    crop: int | None,
    mode: str,
    name: str,
    limit: int | None,
    kept: list | None = None,
) -> tuple[np.ndarray, int]:
    """Decode (label, read-bytes) items with PIL; skip unreadable ones. Returns (N,C,H,W) uint8 and #skipped;
    the labels of the decoded items are appended to ``kept`` when given.
    """
    from PIL import Image, UnidentifiedImageError
    from tqdm import tqdm

    images, skipped = [], 0
    for label, read in tqdm(items, desc=f"decoding {name}", unit="img", leave=False, total=limit):
        try:
            with Image.open(io.BytesIO(read())) as img:
                img = _square_resize(img.convert(mode), resolution, crop)
                arr = np.asarray(img, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            skipped += 1
            continue
        images.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
        if kept is not None:
            kept.append(label)
        if limit is not None and len(images) >= limit:
            break
    if skipped:
        warnings.warn(f"{name}: skipped {skipped} unreadable image(s)", stacklevel=3)
    if not images:
        raise ValueError(f"{name}: no readable image found ({skipped} unreadable)")
    return np.stack(images), skipped


def _files(paths: Iterable[Path]) -> Iterator[tuple[str, Callable[[], bytes]]]:
    for p in paths:
        yield str(p), p.read_bytes


def _lfw_members(tar) -> list:
    return sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".jpg")), key=lambda m: m.name)


def _lfw_items(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    if path.is_dir():
        yield from _files(lfw_files(path))
        return
    try:
        with tarfile.open(path) as tar:
            for m in _lfw_members(tar):
                data = tar.extractfile(m).read()
                yield m.name, (lambda d=data: d)
    except (EOFError, tarfile.TarError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(_bad_archive(path, exc)) from exc


def _bad_archive(path: Path, exc: Exception) -> str:
    return (
        f"{path}: truncated or corrupt archive ({type(exc).__name__}: {exc}); replace it with a complete copy of "
        "lfw-deepfunneled.tgz (`make data ARCHIVES=<folder holding it>` checks its checksum)"
    )


def person_of(label: str) -> str:
    """The person of an LFW image path ``.../<Name>/<Name>_NNNN.jpg``."""
    return PurePosixPath(str(label).replace("\\", "/")).parent.name


def lfw_identities(root: str | Path | None = None) -> np.ndarray | None:
    """The person of every LFW image file, in the order :func:`load` reads them (files sorted by path,
    ``<Name>/<Name>_NNNN.jpg``); ``None`` when LFW is not under the data root.

    This is the *current* file list; the persons of the images that were actually loaded (and cached) are
    ``ImageSet.identities`` of :func:`otlatent.data.load` -- use those to split by person.
    """
    path = locate("lfw", Path(root) if root else None)
    if path is None:
        return None
    if path.is_dir():
        names = [p.parent.name for p in lfw_files(path)]
    else:
        try:
            with tarfile.open(path) as tar:
                names = [PurePosixPath(m.name).parent.name for m in _lfw_members(tar)]
        except (EOFError, tarfile.TarError, zlib.error, gzip.BadGzipFile) as exc:
            raise ValueError(_bad_archive(path, exc)) from exc
    return np.array(names)


def _lsun_items(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    import lmdb

    env = lmdb.open(str(path), max_readers=1, readonly=True, lock=False, readahead=False, meminit=False)
    try:
        with env.begin(write=False) as txn:
            for key, value in txn.cursor():
                yield key.decode(errors="replace"), (lambda v=bytes(value): v)
    finally:
        env.close()


# --------------------------------------------------------------------------- per-dataset loaders


def resize_u8(images: np.ndarray, resolution: int) -> np.ndarray:
    """Resize uint8 images (N, C, H, W) to ``resolution`` px square: bilinear with antialiasing, rounded to uint8."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(images)).float()
    return (
        F.interpolate(t, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
        .round()
        .clamp(0, 255)
        .to(torch.uint8)
        .numpy()
    )


def _load_mnist(path: Path, resolution: int, limit: int | None) -> tuple[np.ndarray, np.ndarray | None, str]:
    images_path = mnist_images(path)
    images = read_idx(images_path)
    if images.ndim != 3:
        raise ValueError(f"{images_path}: expected (N, 28, 28) images, got shape {images.shape}")
    labels_path = Path(str(images_path).replace("images-idx3", "labels-idx1"))
    labels = read_idx(labels_path).astype(np.int64) if labels_path.exists() else None
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"{labels_path}: {len(labels)} labels for {len(images)} images")
    if limit is not None:
        images = images[:limit]
        labels = None if labels is None else labels[:limit]
    if resolution == 32:  # the usual DCGAN treatment: pad 28 -> 32
        images = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    elif resolution != 28:
        images = resize_u8(images[:, None], resolution)[:, 0]
    return images[:, None], labels, str(images_path)


def _load_lld(path: Path, resolution: int, limit: int | None) -> tuple[np.ndarray, None, str]:
    import h5py

    with h5py.File(path, "r") as f:
        if "data" not in f:
            raise ValueError(f"{path}: no HDF5 dataset 'data' (keys: {list(f.keys())})")
        data = f["data"]
        arr = _icons_as_uint8(np.asarray(data[: limit if limit is not None else len(data)]), path)
    if arr.ndim != 4 or 3 not in (arr.shape[1], arr.shape[-1]):
        raise ValueError(f"{path}: expected (N, 3, 32, 32) or (N, 32, 32, 3) icons, got {arr.shape}")
    if arr.shape[1] != 3:
        arr = arr.transpose(0, 3, 1, 2)
    if arr.shape[-1] != resolution:
        arr = resize_u8(arr, resolution)
    return np.ascontiguousarray(arr), None, str(path)


#: The batches of CIFAR-10's python version, in the order they are read (the training batches, then the test batch).
CIFAR10_BATCHES = tuple(f"data_batch_{k}" for k in range(1, 6)) + ("test_batch",)


def read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file of CIFAR-10's python version: a pickled dict with ``b"data"`` (N x 3072 uint8: the 1,024 red,
    then green, then blue values of a 32x32 image, row-major) and ``b"labels"`` (N ints 0-9). Returns
    ``(images (N, 3, 32, 32) uint8, labels (N,) int64)``.
    """
    import pickle

    with open(path, "rb") as f:
        try:
            batch = pickle.load(f, encoding="bytes")
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
            raise ValueError(f"{path}: not a CIFAR-10 batch (python version) ({type(exc).__name__}: {exc})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path}: a CIFAR-10 batch is a dict with b'data' and b'labels'")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise ValueError(f"{path}: expected (N, 3072) uint8 data and N labels, got {data.shape} {data.dtype}, "
                         f"{len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must be 0-9, got {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels


def _load_cifar10(path: Path, resolution: int, limit: int | None, split: str | None):
    """CIFAR-10 from ``cifar-10-batches-py/``: the training batches (``split`` None or ``"train"``), or the test
    batch (``"test"``); labels kept; resized from 32 px when needed.
    """
    if split == "valid":
        raise ValueError("CIFAR-10 has a training and a test split, no validation split")
    names = [b for b in CIFAR10_BATCHES if (b == "test_batch") == (split == "test")]
    present = [path / b for b in names if (path / b).is_file()]
    if not present:
        raise ValueError(f"{path}: none of the batch files {names} is there")
    parts = [read_cifar10_batch(p) for p in present]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if resolution != 32:
        images = resize_u8(images, resolution)
    return np.ascontiguousarray(images), labels, str(path)


def _icons_as_uint8(arr: np.ndarray, path: Path) -> np.ndarray:
    """uint8 icons as they are; floats in [0, 1] (x 255) or integers in [0, 255] converted exactly; else an error."""
    if arr.dtype == np.uint8:
        return arr
    if arr.size == 0:
        return arr.astype(np.uint8)
    lo, hi = arr.min(), arr.max()
    if np.issubdtype(arr.dtype, np.floating):
        if np.isfinite(lo) and np.isfinite(hi) and 0.0 <= lo and hi <= 1.0:
            return np.round(arr.astype(np.float64) * 255.0).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        if 0 <= lo and hi <= 255:
            return arr.astype(np.uint8)
    raise ValueError(
        f"{path}: icons of dtype {arr.dtype} with values in [{lo}, {hi}] cannot be read as images; "
        "store them as uint8 in [0, 255] (or floats in [0, 1], or integers in [0, 255])"
    )


def _celeba_files(path: Path, split: str | None) -> list[Path]:
    files = sorted(path.glob("*.jpg"))
    partition = path.parent / "list_eval_partition.txt"
    if split is not None and partition.is_file():
        code = {"train": "0", "valid": "1", "test": "2"}[split]
        keep = {
            line.split()[0]
            for line in partition.read_text().splitlines()
            if len(line.split()) == 2 and line.split()[1] == code
        }
        files = [f for f in files if f.name in keep]
    return files


#: Default centre crop (in source pixels) before resizing, per dataset.


def decode_dataset(
    name: str,
    path: Path,
    resolution: int,
    limit: int | None,
    crop: int | None,
    split: str | None,
    identities: list | None = None,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """``(images, labels, source)`` of a dataset; for LFW the person of every decoded image is appended to
    ``identities`` when given.
    """
    if name == "mnist":
        return _load_mnist(path, resolution, limit)
    if name == "lld":
        return _load_lld(path, resolution, limit)
    if name == "cifar10":
        return _load_cifar10(path, resolution, limit, split)
    if name == "lfw":
        items = _lfw_items(path)
    elif name == "celeba":
        items = _files(_celeba_files(path, split))
    elif name == "lsun":
        items = _lsun_items(path)
    else:  # pragma: no cover - guarded by check_dataset
        raise ValueError(name)
    kept: list = []
    images, _ = decode_all(items, resolution, crop, "RGB", name, limit, kept)
    if name == "lfw" and identities is not None:  # the person of every decoded image, kept with the images
        identities.extend(person_of(k) for k in kept)
    return images, None, str(path)
