"""Calibration of a score: a ladder of known degradations of real images, and whether the score ranks them.

A score is evidence about a kind of change only if it moves, in its worse direction and monotonically, when real
images are degraded in that way by increasing amounts. :func:`degradation_ladder` makes the ladder (torchvision's
functional transforms on uint8 images), :func:`sensitivity` reads each score's response off it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

__all__ = [
    "DEGRADATIONS",
    "MIDPOINT_LIKE",
    "degrade",
    "degradation_ladder",
    "score_ladder",
    "sensitivity",
    "usable_scores",
]

#: Kinds of degradation and their levels, from mild to strong.
#: ``blur``: Gaussian blur, sigma in pixels; ``contrast``: torchvision's ``adjust_contrast`` factor; ``desaturate``:
#: ``adjust_saturation`` factor (colour images only); ``noise``: additive Gaussian noise, sigma in units of the
#: intensity range [0, 1]; ``blend``: ``(1 - a) x + a blur(x, 1.5)``, mixing in a blurred copy (what averaging
#: latents does to decoded detail, roughly).
DEGRADATIONS: dict[str, tuple[float, ...]] = {
    "blur": (0.5, 1.0, 1.5, 2.0),
    "contrast": (0.9, 0.8, 0.6, 0.4),
    "desaturate": (0.75, 0.5, 0.25, 0.0),
    "noise": (0.02, 0.05, 0.1, 0.2),
    "blend": (0.25, 0.5, 0.75, 1.0),
}

#: The kinds of :data:`DEGRADATIONS` that the paper says midpoints make (blur, a blurred copy mixed in, lower
#: contrast, desaturation): a score is used for a verdict on midpoints only if it is sensitive to one of them.
MIDPOINT_LIKE: tuple[str, ...] = ("blur", "blend", "contrast", "desaturate")


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    from torchvision.transforms.functional import gaussian_blur

    size = 2 * int(np.ceil(3 * sigma)) + 1
    return gaussian_blur(x, [size, size], [sigma, sigma])


def degrade(images_u8, kind: str, level: float, seed: int = 0) -> torch.Tensor:
    """``images_u8`` (N, C, H, W) degraded by ``kind`` at ``level`` (see :data:`DEGRADATIONS`), as uint8."""
    from torchvision.transforms import functional as TF

    x = torch.as_tensor(images_u8)
    if x.dtype != torch.uint8 or x.ndim != 4:
        raise ValueError(f"expected uint8 images (N, C, H, W), got {x.dtype} {tuple(x.shape)}")
    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {kind!r}: valid kinds are {', '.join(DEGRADATIONS)}")
    f = x.float() / 255
    if kind == "blur":
        out = _blur(f, level)
    elif kind == "contrast":
        out = TF.adjust_contrast(f, level)
    elif kind == "desaturate":
        if x.shape[1] != 3:
            raise ValueError("desaturation needs colour images (3 channels)")
        out = TF.adjust_saturation(f, level)
    elif kind == "noise":
        gen = torch.Generator().manual_seed(seed)
        out = f + level * torch.randn(f.shape, generator=gen)
    else:
        out = (1 - level) * f + level * _blur(f, 1.5)
    return (out.clamp(0, 1) * 255).round().to(torch.uint8)


def degradation_ladder(images_u8, kinds=None, seed: int = 0) -> dict[tuple[str, float], torch.Tensor]:
    """Every (kind, level) of :data:`DEGRADATIONS` applied to the same images, after ``("none", 0.0)`` (the images
    themselves). Grey images skip ``desaturate``.
    """
    x = torch.as_tensor(images_u8)
    kinds = [k for k in DEGRADATIONS if k != "desaturate" or x.shape[1] == 3] if kinds is None else list(kinds)
    out = {("none", 0.0): x}
    for kind in kinds:
        for level in DEGRADATIONS[kind]:
            out[(kind, level)] = degrade(x, kind, level, seed)
    return out


def sensitivity(values: pd.DataFrame, worse: dict, margins: dict | None = None) -> pd.DataFrame:
    """How each score responds to each kind of degradation.

    ``values`` has columns ``kind``, ``level``, ``score``, ``value`` (the undegraded images as kind ``"none"``).
    For each (score, kind): ``changes`` (per level, the score minus its undegraded value, in the score's units),
    ``changes_pct`` (the same in % of the undegraded value: unreliable for distances, whose undegraded value is near
    zero), ``monotone`` (every level worse than the one before, in the score's ``worse`` direction), ``detects`` (the
    mildest level whose change in the worse direction exceeds ``margins[score]``, in the score's units; NaN if none)
    and ``sensitive`` = monotone and detects a level. Without ``margins`` any worse change counts.
    """
    rows = []
    for score, g in values.groupby("score", sort=False):
        base = float(g[g.kind == "none"].value.iloc[0])
        sign = 1.0 if worse[score] == "higher" else -1.0
        margin = 0.0 if margins is None else float(margins[score])
        for kind, h in g[g.kind != "none"].groupby("kind", sort=False):
            h = h.sort_values("level", key=lambda s: [DEGRADATIONS[kind].index(v) for v in s])
            change = h.value.to_numpy(float) - base
            worse_by = sign * change
            steps = np.diff(np.concatenate([[0.0], worse_by]))
            monotone = bool(np.all(steps > 0))
            hit = np.flatnonzero(worse_by > margin)
            rows.append(
                dict(
                    score=score,
                    kind=kind,
                    changes=[float(f"{c:.4g}") for c in change],
                    changes_pct=np.round(100 * change / abs(base), 2).tolist() if base else [np.nan] * len(change),
                    monotone=monotone,
                    detects=float(h.level.iloc[hit[0]]) if len(hit) else np.nan,
                    sensitive=bool(monotone and len(hit)),
                )
            )
    return pd.DataFrame(rows)


def score_ladder(images_u8, scores_of, seed: int = 0) -> pd.DataFrame:
    """Every score of every rung of :func:`degradation_ladder`: ``scores_of(images_u8) -> {score: value}`` on each;
    columns ``kind``, ``level``, ``score``, ``value`` (the input of :func:`sensitivity`).
    """
    rows = []
    for (kind, level), x in degradation_ladder(images_u8, seed=seed).items():
        rows += [dict(kind=kind, level=level, score=k, value=v) for k, v in scores_of(x).items()]
    return pd.DataFrame(rows)


def usable_scores(sens: pd.DataFrame, scores, kinds=MIDPOINT_LIKE) -> dict[str, bool]:
    """Score -> whether :func:`sensitivity` found it sensitive (monotone, beyond its margin) to one of ``kinds``."""
    return {sc: bool(sens[(sens.score == sc) & sens.kind.isin(kinds)].sensitive.any()) for sc in scores}
