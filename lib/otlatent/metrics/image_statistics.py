"""Per-image statistics that capture the paper's qualitative claim (midpoints of linear interpolation look
blurrier and less saturated): saturation, contrast, sharpness, and their comparison between image sets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..data import to_unit
from .resampling import holm_by_score

__all__ = ["LAPLACIAN", "image_statistics", "statistics_table", "compare_statistics"]

#: The 3x3 discrete Laplacian used for sharpness.
LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def image_statistics(images) -> pd.DataFrame:
    """Per-image statistics of a batch (N, C, H, W), float in [-1, 1] or uint8.

    Columns (intensities in [0, 1]; luminance L = 0.299 R + 0.587 G + 0.114 B):

    - ``saturation``: mean HSV saturation (max - min) / max over pixels (RGB only, NaN for grey images);
    - ``contrast``: standard deviation of L over the image;
    - ``sharpness``: mean squared response of L to the 3x3 Laplacian (high-frequency energy).
    """
    x = to_unit(images)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 1 or 3, H, W), got {tuple(x.shape)}")
    if x.shape[1] == 3:
        lum = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
        mx, mn = x.max(1).values, x.min(1).values
        sat = torch.where(mx > 1e-6, (mx - mn) / mx.clamp_min(1e-6), torch.zeros_like(mx)).mean((1, 2)).numpy()
    else:
        lum = x[:, 0]
        sat = np.full(len(x), np.nan)
    lap = F.conv2d(lum[:, None], LAPLACIAN[None, None], padding=0)
    return pd.DataFrame(
        {
            "saturation": sat,
            "contrast": lum.flatten(1).std(1).numpy(),
            "sharpness": lap.pow(2).mean((1, 2, 3)).numpy(),
        }
    )


def statistics_table(groups: dict, baseline: str | None = None) -> pd.DataFrame:
    """Mean :func:`image_statistics` per image set (rows) and their relative change against ``baseline`` (default
    the first set), in %, in columns ``<statistic> Δ%``; rounded to 4 decimals.
    """
    rows = {name: image_statistics(x).mean() for name, x in groups.items()}
    table = pd.DataFrame(rows).T
    rel = 100 * (table / table.loc[baseline or next(iter(groups))] - 1)
    return table.join(rel.add_suffix(" Δ%")).round(4)


def compare_statistics(groups: dict, baseline: str | None = None) -> pd.DataFrame:
    """:func:`image_statistics` of several image sets against a baseline set, with two-sample tests.

    One row per (set, statistic): the mean, its relative change against the baseline's mean (in %), the
    two-sided Mann-Whitney U p-value (``scipy.stats.mannwhitneyu``) and the Holm-adjusted p-value over the
    non-baseline sets.  Grey images have no saturation (left out).
    """
    from scipy.stats import mannwhitneyu

    names = list(groups)
    baseline = baseline or names[0]
    stats = {name: image_statistics(x) for name, x in groups.items()}
    rows = []
    for col in stats[baseline].columns:
        b = stats[baseline][col].to_numpy()
        if np.isnan(b).all():
            continue
        for name in names:
            x = stats[name][col].to_numpy()
            p = np.nan if name == baseline else float(mannwhitneyu(x, b, alternative="two-sided").pvalue)
            rows.append(
                dict(
                    set=name,
                    score=col,
                    value=float(x.mean()),
                    rel_change_pct=100 * (x.mean() / b.mean() - 1),
                    p_value=p,
                )
            )
    table = pd.DataFrame(rows)
    holm_by_score(table, baseline)
    return table
