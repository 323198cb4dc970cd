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

import dataclasses
import gzip
import io
import tarfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath

import numpy as np

from .config import check_dataset, data_root
from .runtime import atomic_write

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


def _mnist_images(folder: Path) -> Path | None:
    for stem in _MNIST_FILES:
        for suffix in (".gz", ""):
            if (folder / (stem + suffix)).is_file():
                return folder / (stem + suffix)
    return None


def locate(name: str, root: Path | None = None) -> Path | None:
    """The first existing path of dataset ``name`` under the data root, or ``None``."""
    for path in candidates(name, root):
        if name == "mnist":
            if path.is_dir() and _mnist_images(path) is not None:
                return path
        elif path.exists():
            return path
    return None


def available(name: str, root: Path | None = None) -> bool:
    """Whether dataset ``name`` can be loaded (``synthetic`` always can)."""
    return name == "synthetic" or locate(name, root) is not None


def _require(name: str, root: Path | None) -> Path:
    path = locate(name, root)
    if path is None:
        from .fetch import SOURCES

        how = next((s.how_to_get for s in SOURCES if s.dataset == name), "")
        expected = " or ".join(str(p) for p in candidates(name, root))
        raise DatasetNotFoundError(f"dataset {name!r} not found: expected {expected}. To get it: {how}")
    return path


# --------------------------------------------------------------------------- conversions


def to_float(images_u8):
    """uint8 images in [0, 255] -> float32 torch tensor in [-1, 1]: x / 127.5 - 1."""
    import torch

    t = torch.as_tensor(images_u8)
    if t.dtype != torch.uint8:
        raise TypeError(f"expected uint8 images, got {t.dtype}")
    return t.to(torch.float32).div_(127.5).sub_(1.0)


def to_unit(images):
    """uint8 images (/255) or float images in [-1, 1] ((x + 1) / 2, clipped) -> float32 CPU tensor in [0, 1]."""
    import torch

    t = torch.as_tensor(images)
    if t.dtype == torch.uint8:
        return t.float() / 255.0
    return (t.detach().float().cpu().clamp(-1, 1) + 1) / 2


def to_uint8(images):
    """Float images in [-1, 1] -> uint8 in [0, 255], rounded once (values outside are clipped); uint8 images are
    returned as they are (as a tensor), so that converting twice is harmless.
    """
    import torch

    t = torch.as_tensor(images)
    if t.dtype == torch.uint8:
        return t
    return ((t.detach().float().clamp(-1, 1) + 1) * 127.5).round_().to(torch.uint8)


@dataclasses.dataclass
class ImageSet:
    """Images of one dataset at one resolution.

    Attributes
    ----------
    name : str
        The dataset's name.
    images_u8 : numpy.ndarray
        uint8, shape (N, C, H, W): the cached form.
    labels : numpy.ndarray or None
        int64 class labels where the dataset has them.
    source : str
        Where the images came from (a path, or the synthetic generator's seed).
    """

    name: str
    images_u8: np.ndarray
    labels: np.ndarray | None
    source: str

    def __len__(self) -> int:
        return len(self.images_u8)

    @property
    def images(self):
        """All images as a float32 tensor in [-1, 1], shape (N, C, H, W)."""
        return to_float(self.images_u8)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images_u8.shape[1:])

    @property
    def num_classes(self) -> int | None:
        return None if self.labels is None else int(self.labels.max()) + 1

    def loader(self, batch_size: int, seed: int = 0, drop_last: bool = True):
        """A shuffled ``DataLoader`` of float images (and labels when present), seeded."""
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        tensors = [torch.from_numpy(self.images_u8)]
        if self.labels is not None:
            tensors.append(torch.from_numpy(self.labels))
        generator = torch.Generator().manual_seed(seed)
        return DataLoader(
            TensorDataset(*tensors), batch_size=batch_size, shuffle=True, drop_last=drop_last, generator=generator
        )


# --------------------------------------------------------------------------- synthetic

#: The ten classes of the synthetic dataset, in label order.
SYNTHETIC_CLASSES = ("disk", "square", "triangle", "ring", "cross", "diamond", "hexagon", "star", "ellipse", "crescent")


def _sdf(k: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) of shape class ``k`` in its unit frame."""
    ax, ay = np.abs(x), np.abs(y)
    r = np.hypot(x, y)
    if k == 0:
        return r - 0.9
    if k == 1:
        return np.maximum(ax, ay) - 0.75
    if k == 2:  # equilateral triangle, apex up
        return np.maximum(ax * 0.866 + y * 0.5, -y) - 0.45
    if k == 3:
        return np.abs(r - 0.7) - 0.22
    if k == 4:
        return np.minimum(np.maximum(ax - 0.28, ay - 0.9), np.maximum(ax - 0.9, ay - 0.28))
    if k == 5:
        return (ax + ay) / 1.414 - 0.68
    if k == 6:
        return np.maximum(ax * 0.866 + ay * 0.5, ay) - 0.78
    if k == 7:  # five-pointed star in polar form
        theta = np.arctan2(y, x)
        return r - (0.55 + 0.35 * np.cos(5 * theta))
    if k == 8:
        return (np.hypot(x, y * 2.0) - 0.95) * 0.5
    if k == 9:
        return np.maximum(r - 0.9, 0.7 - np.hypot(x - 0.45, y - 0.15))
    raise ValueError(k)


def make_synthetic(n: int = 10_000, resolution: int = 32, seed: int = 0, chunk: int = 1000) -> ImageSet:
    """Draw the embedded procedural dataset: ``n`` labelled RGB images.

    Each image is one of ten shapes (:data:`SYNTHETIC_CLASSES`, the label) at a
    random position, scale and rotation, filled with a random colour modulated by
    stripes of random frequency and orientation, over a two-colour gradient
    background, with a soft shadow and pixel noise.  Shapes are anti-aliased from
    signed distance functions, so 32 and 64 px renderings agree.  Deterministic
    from ``seed``; about 10^4 images per second at 32 px.
    """
    if n <= 0 or resolution < 8:
        raise ValueError(f"need n > 0 and resolution >= 8, got n={n}, resolution={resolution}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(SYNTHETIC_CLASSES), size=n)
    out = np.empty((n, 3, resolution, resolution), dtype=np.uint8)
    f32 = np.float32
    coords = ((np.arange(resolution) + 0.5) / resolution * 2 - 1).astype(f32)
    gy, gx = np.meshgrid(coords, coords, indexing="ij")
    pixel = f32(2.0 / resolution)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        m = stop - start
        lab = labels[start:stop]
        cx, cy = rng.uniform(-0.3, 0.3, size=(2, m, 1, 1)).astype(f32)
        scale = rng.uniform(0.45, 0.75, size=(m, 1, 1)).astype(f32)
        angle = rng.uniform(0, 2 * np.pi, size=(m, 1, 1)).astype(f32)
        fg = rng.uniform(0.15, 1.0, size=(m, 3, 1, 1)).astype(f32)
        bg0, bg1 = rng.uniform(0.0, 0.7, size=(2, m, 3, 1, 1)).astype(f32)
        bg_dir = rng.uniform(0, 2 * np.pi, size=(m, 1, 1)).astype(f32)
        stripe_freq = rng.uniform(2.0, 7.0, size=(m, 1, 1)).astype(f32)
        stripe_dir = rng.uniform(0, np.pi, size=(m, 1, 1)).astype(f32)
        stripe_amp = rng.uniform(0.0, 0.35, size=(m, 1, 1)).astype(f32)
        cos, sin = np.cos(angle), np.sin(angle)
        dx, dy = gx - cx, gy - cy
        u = (cos * dx + sin * dy) / scale
        v = (-sin * dx + cos * dy) / scale
        sdf = np.empty((m, resolution, resolution), dtype=f32)
        shadow = np.empty_like(sdf)
        for k in range(len(SYNTHETIC_CLASSES)):
            idx = lab == k
            if idx.any():
                sdf[idx] = _sdf(k, u[idx], v[idx]) * scale[idx]
                shadow[idx] = _sdf(k, u[idx] - 0.12, v[idx] + 0.12) * scale[idx]
        alpha = np.clip(0.5 - sdf / pixel, 0.0, 1.0)[:, None]
        shade = np.clip(0.5 - shadow / (3 * pixel), 0.0, 1.0)[:, None] * 0.35
        ramp = (np.cos(bg_dir) * gx + np.sin(bg_dir) * gy + 1.0)[:, None] / 2.0
        background = bg0 + (bg1 - bg0) * ramp
        background = background * (1.0 - shade)
        phase = np.cos(stripe_dir) * u + np.sin(stripe_dir) * v
        stripes = 1.0 - stripe_amp * (0.5 + 0.5 * np.sin(2 * np.pi * stripe_freq * phase / 2.0))
        foreground = fg * stripes[:, None]
        img = background * (1.0 - alpha) + foreground * alpha
        img += rng.normal(0.0, 0.02, size=img.shape).astype(f32)
        out[start:stop] = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    return ImageSet("synthetic", out, labels.astype(np.int64), f"procedural generator, seed {seed}")


# --------------------------------------------------------------------------- decoding helpers


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST's format; gzipped or not) into a numpy array.

    The header is two zero bytes, a type code (0x08 = uint8), the number of
    dimensions, then one big-endian int32 per dimension.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
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


def _decode_all(
    items: Iterable[tuple[str, Callable[[], bytes]]],
    resolution: int,
    crop: int | None,
    mode: str,
    name: str,
    limit: int | None,
) -> tuple[np.ndarray, int]:
    """Decode (label, read-bytes) items with PIL; skip unreadable ones. Returns (N,C,H,W) uint8 and #skipped."""
    from PIL import Image, UnidentifiedImageError
    from tqdm import tqdm

    images, skipped = [], 0
    for _label, read in tqdm(items, desc=f"decoding {name}", unit="img", leave=False, total=limit):
        try:
            with Image.open(io.BytesIO(read())) as img:
                img = _square_resize(img.convert(mode), resolution, crop)
                arr = np.asarray(img, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            skipped += 1
            continue
        images.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
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
        yield from _files(sorted(path.glob("*/*.jpg")))
        return
    with tarfile.open(path) as tar:
        for m in _lfw_members(tar):
            data = tar.extractfile(m).read()
            yield m.name, (lambda d=data: d)


def lfw_identities(root: str | Path | None = None) -> np.ndarray | None:
    """The person of every LFW image, in the order :func:`load` reads them (files sorted by path,
    ``<Name>/<Name>_NNNN.jpg``); ``None`` when LFW is not under the data root.
    """
    path = locate("lfw", Path(root) if root else None)
    if path is None:
        return None
    if path.is_dir():
        names = [p.parent.name for p in sorted(path.glob("*/*.jpg"))]
    else:
        with tarfile.open(path) as tar:
            names = [PurePosixPath(m.name).parent.name for m in _lfw_members(tar)]
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


def _load_mnist(path: Path, resolution: int, limit: int | None) -> tuple[np.ndarray, np.ndarray | None, str]:
    images_path = _mnist_images(path)
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
        import torch
        import torch.nn.functional as F

        t = torch.from_numpy(images).float()[:, None]
        images = (
            F.interpolate(t, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
            .round()
            .clamp(0, 255)
            .to(torch.uint8)[:, 0]
            .numpy()
        )
    return images[:, None], labels, str(images_path)


def _load_lld(path: Path, resolution: int, limit: int | None) -> tuple[np.ndarray, None, str]:
    import h5py

    with h5py.File(path, "r") as f:
        if "data" not in f:
            raise ValueError(f"{path}: no HDF5 dataset 'data' (keys: {list(f.keys())})")
        data = f["data"]
        arr = np.asarray(data[: limit if limit is not None else len(data)], dtype=np.uint8)
    if arr.ndim != 4 or 3 not in (arr.shape[1], arr.shape[-1]):
        raise ValueError(f"{path}: expected (N, 3, 32, 32) or (N, 32, 32, 3) icons, got {arr.shape}")
    if arr.shape[1] != 3:
        arr = arr.transpose(0, 3, 1, 2)
    if arr.shape[-1] != resolution:
        import torch
        import torch.nn.functional as F

        t = torch.from_numpy(np.ascontiguousarray(arr)).float()
        arr = (
            F.interpolate(t, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
            .round()
            .clamp(0, 255)
            .to(torch.uint8)
            .numpy()
        )
    return np.ascontiguousarray(arr), None, str(path)


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
DEFAULT_CROP = {"lfw": 150, "celeba": 108, "lsun": None}


def _decode(
    name: str, path: Path, resolution: int, limit: int | None, crop: int | None, split: str | None
) -> tuple[np.ndarray, np.ndarray | None, str]:
    if name == "mnist":
        return _load_mnist(path, resolution, limit)
    if name == "lld":
        return _load_lld(path, resolution, limit)
    if name == "lfw":
        items = _lfw_items(path)
    elif name == "celeba":
        items = _files(_celeba_files(path, split))
    elif name == "lsun":
        items = _lsun_items(path)
    else:  # pragma: no cover - guarded by check_dataset
        raise ValueError(name)
    images, _ = _decode_all(items, resolution, crop, "RGB", name, limit)
    return images, None, str(path)


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
    path = _require(name, root)
    crop = DEFAULT_CROP.get(name) if crop == -1 else crop
    key = f"{name}_{resolution}px_crop{crop}_n{n}_{split}_v{CACHE_VERSION}.npz"
    cache_path = root / "cache" / key
    if cache and cache_path.is_file():
        with np.load(cache_path, allow_pickle=False) as z:
            labels = z["labels"] if "labels" in z.files else None
            return ImageSet(name, z["images"], labels, str(z["source"]))
    images, labels, source = _decode(name, path, resolution, n, crop, split)
    if cache:
        arrays = {"images": images, "source": np.array(source)}
        if labels is not None:
            arrays["labels"] = labels

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        atomic_write(cache_path, write)
    return ImageSet(name, images, labels, source)
