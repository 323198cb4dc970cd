r"""Image corruptions for the reconstruction study (notebook 08), each at a named severity, seeded.

Every corruption takes float images in [-1, 1] of shape (N, C, H, W) and returns a :class:`Corrupted`: the
corrupted images, the mask of the pixels that still carry their clean value, possibly with additive noise (what a
reconstruction may trust), and the scale of that noise.  Severities are fractions of the pixels (channels, salt &
pepper), of the image side (block, seed patches), or a standard deviation on the [0, 1] image scale (noise):

``channels``
    A random ``severity`` fraction of the pixels have their colour channels permuted (a random permutation other
    than the identity, per pixel).  Grey images have one channel, so their corrupted pixels are inverted instead
    (:math:`x \mapsto -x`).  Earlier versions of the study called this the seed report's corruption; it is not
    (that is ``seed_patches``).
``seed_patches``
    The seed report's protocol, which corrupts the two copies of a face differently: a square patch of side
    ``severity`` x image side (10 x 10 at 45 x 45 for ``severity = 10/45``) whose top-left corner is uniform over
    the **whole** image (so it is clipped at the right and bottom borders) has colour channel 2 set to zero in copy
    ``0``, and an independently placed patch has channels 0 and 1 set to zero in copy ``1`` ("zero" on the report's
    [0, 1] scale: -1 here). Grey images have their one channel zeroed in both copies.
``salt_pepper``
    A random ``severity`` fraction of the pixels set to black or white (all channels, equal odds).
``block``
    One square of side ``severity`` x image side, at a uniformly random position, set to black.
``noise``
    Additive Gaussian noise of standard deviation ``severity`` (on the [0, 1] scale), clipped to the image range;
    every pixel is observed through the noise (mask all True), and ``noise_sigma`` is ``2 * severity`` in [-1, 1]
    units.
"""

from __future__ import annotations

import dataclasses
import itertools

import torch

__all__ = [
    "Corrupted",
    "CORRUPTIONS",
    "SEVERITIES",
    "corrupt",
    "channel_permutation",
    "salt_pepper",
    "block_occlusion",
    "gaussian_noise",
    "seed_patches",
]


@dataclasses.dataclass
class Corrupted:
    """Corrupted images (N, C, H, W) in [-1, 1]; ``mask`` (N, 1, H, W) bool, True where a pixel was not replaced
    (it carries its clean value, plus the additive noise if any); ``noise_sigma``, the standard deviation of that
    noise in [-1, 1] units (0 for none).
    """

    images: torch.Tensor
    mask: torch.Tensor
    noise_sigma: float = 0.0

    @property
    def intact_fraction(self) -> float:
        return float(self.mask.float().mean())


def _check(x: torch.Tensor, severity: float, high: float = 1.0) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(x.shape)}")
    if not 0 <= severity <= high:
        raise ValueError(f"severity must be in [0, {high}], got {severity}")
    return x


def _pixel_subset(x: torch.Tensor, fraction: float, gen: torch.Generator) -> torch.Tensor:
    """(N, 1, H, W) bool: a random ``fraction`` of each image's pixels (exactly round(fraction * H * W))."""
    n, _, h, w = x.shape
    k = int(round(fraction * h * w))
    order = torch.rand(n, h * w, generator=gen).argsort(dim=1)
    hit = torch.zeros(n, h * w, dtype=torch.bool)
    hit.scatter_(1, order[:, :k], True)
    return hit.view(n, 1, h, w)


def _squares(h: int, w: int, top: torch.Tensor, left: torch.Tensor, k: int) -> torch.Tensor:
    """(N, 1, H, W) bool: per image, the k x k square at (``top``, ``left``), clipped at the image border."""
    n = len(top)
    rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
    return (
        (rows >= top.view(n, 1, 1))
        & (rows < (top + k).view(n, 1, 1))
        & (cols >= left.view(n, 1, 1))
        & (cols < (left + k).view(n, 1, 1))
    ).unsqueeze(1)


def channel_permutation(x, severity: float, seed: int = 0) -> Corrupted:
    """Permute the colour channels of a random ``severity`` fraction of the pixels (seed report's corruption)."""
    x = _check(x, severity)
    gen = torch.Generator().manual_seed(seed)
    hit = _pixel_subset(x, severity, gen)
    c = x.shape[1]
    if c == 1:
        out = torch.where(hit, -x, x)
    else:
        perms = torch.tensor([p for p in itertools.permutations(range(c)) if list(p) != list(range(c))])
        choice = perms[torch.randint(len(perms), x.shape[:1] + x.shape[2:], generator=gen)]  # (N, H, W, C)
        permuted = torch.gather(x, 1, choice.permute(0, 3, 1, 2))
        out = torch.where(hit, permuted, x)
    return Corrupted(out, ~hit)


def salt_pepper(x, severity: float, seed: int = 0) -> Corrupted:
    """Set a random ``severity`` fraction of the pixels to black (-1) or white (+1), all channels."""
    x = _check(x, severity)
    gen = torch.Generator().manual_seed(seed)
    hit = _pixel_subset(x, severity, gen)
    value = torch.where(torch.rand(hit.shape, generator=gen) < 0.5, -1.0, 1.0)
    return Corrupted(torch.where(hit, value, x), ~hit)


def block_occlusion(x, severity: float, seed: int = 0) -> Corrupted:
    """Black out one square of side ``round(severity * side)`` at a uniformly random position per image."""
    x = _check(x, severity)
    gen = torch.Generator().manual_seed(seed)
    n, _, h, w = x.shape
    k = int(round(severity * min(h, w)))
    top = torch.randint(h - k + 1, (n,), generator=gen)
    left = torch.randint(w - k + 1, (n,), generator=gen)
    hit = _squares(h, w, top, left, k)
    return Corrupted(torch.where(hit, -1.0, x), ~hit)


def gaussian_noise(x, severity: float, seed: int = 0) -> Corrupted:
    r"""Add :math:`\mathcal N(0, (2\,\mathrm{severity})^2)` noise in [-1, 1] units (``severity`` on the [0, 1]
    scale) and clip to [-1, 1].
    """
    x = _check(x, severity, high=10.0)
    gen = torch.Generator().manual_seed(seed)
    sigma = 2.0 * severity
    out = (x + sigma * torch.randn(x.shape, generator=gen)).clamp(-1.0, 1.0)
    return Corrupted(out, torch.ones(x.shape[0], 1, *x.shape[2:], dtype=torch.bool), sigma)


def seed_patches(x, severity: float, seed: int = 0, copy: int = 0) -> Corrupted:
    """The seed report's corruption of copy ``copy`` (0 or 1) of a face: a square patch of side
    ``round(severity * side)`` whose top-left corner is uniform over the whole image (clipped at the border) has
    channel 2 (copy 0) or channels 0 and 1 (copy 1) set to zero on the [0, 1] scale (-1 here).
    """
    x = _check(x, severity)
    if copy not in (0, 1):
        raise ValueError(f"copy must be 0 or 1 (the report's two copies), got {copy}")
    gen = torch.Generator().manual_seed(seed)
    n, c, h, w = x.shape
    k = int(round(severity * min(h, w)))
    top = torch.randint(h, (n,), generator=gen)  # anywhere: the patch is clipped at the bottom and right borders
    left = torch.randint(w, (n,), generator=gen)
    hit = _squares(h, w, top, left, k)
    channels = [0] if c == 1 else ([2] if copy == 0 else [0, 1])
    zeroed = torch.zeros(1, c, 1, 1, dtype=torch.bool)
    zeroed[:, channels] = True
    return Corrupted(torch.where(hit & zeroed, -1.0, x), ~hit)


#: The corruptions by name.
CORRUPTIONS = {
    "channels": channel_permutation,
    "salt_pepper": salt_pepper,
    "block": block_occlusion,
    "noise": gaussian_noise,
    "seed_patches": seed_patches,
}

#: Three severities per corruption (mild, medium, strong), in the units of the module docstring.
SEVERITIES = {
    "channels": (0.1, 0.3, 0.5),
    "salt_pepper": (0.05, 0.15, 0.3),
    "block": (0.25, 0.4, 0.55),
    "noise": (0.05, 0.1, 0.2),
    "seed_patches": (10 / 45, 15 / 45, 20 / 45),  # the first is the report's 10 x 10 at 45 x 45
}


def corrupt(name: str, x, severity: float, seed: int = 0, copy: int = 0) -> Corrupted:
    """Apply corruption ``name`` (a key of :data:`CORRUPTIONS`) at ``severity`` with ``seed``; ``copy`` (0 or 1)
    selects which of the two copies of a pair ``seed_patches`` makes (the others corrupt both copies alike).
    """
    try:
        fn = CORRUPTIONS[name]
    except KeyError:
        raise ValueError(f"unknown corruption {name!r}: valid are {', '.join(map(repr, CORRUPTIONS))}") from None
    return fn(x, severity, seed, copy) if fn is seed_patches else fn(x, severity, seed)
