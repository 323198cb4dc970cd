"""Image sets and the study's one conversion of images between uint8, [-1, 1] floats and [0, 1] floats."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["ImageSet", "as_float", "to_float", "to_unit", "to_uint8"]


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


def as_float(images):
    """Images as a float32 tensor in [-1, 1]: uint8 images through :func:`to_float`, float ones as they are."""
    import torch

    is_u8 = images.dtype == np.uint8 if isinstance(images, np.ndarray) else getattr(images, "dtype", None) == torch.uint8
    return to_float(images) if is_u8 else torch.as_tensor(images, dtype=torch.float32)


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
    identities : numpy.ndarray or None
        LFW: the person (folder name) of every image, decoded and cached with the images.
    """

    name: str
    images_u8: np.ndarray
    labels: np.ndarray | None
    source: str
    identities: np.ndarray | None = None

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
