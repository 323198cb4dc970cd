"""The study's embedded procedural dataset: ten shape classes with random colours, gradients, stripes and noise,
deterministic from a seed, no files."""

from __future__ import annotations

import numpy as np

from .images import ImageSet

__all__ = ["SYNTHETIC_CLASSES", "make_synthetic"]


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
