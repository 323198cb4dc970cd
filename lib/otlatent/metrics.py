"""Sample-quality measures.

Image statistics that capture the paper's qualitative claim (midpoints of linear
interpolation look blurrier and less saturated), computed per image so that two
sets of images can be compared with a two-sample test.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

__all__ = ["image_statistics", "LAPLACIAN"]

#: The 3x3 discrete Laplacian used for sharpness.
LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _unit(images) -> torch.Tensor:
    t = torch.as_tensor(images)
    if t.dtype == torch.uint8:
        return t.float() / 255.0
    return (t.detach().float().cpu().clamp(-1, 1) + 1) / 2


def image_statistics(images) -> pd.DataFrame:
    """Per-image statistics of a batch (N, C, H, W), float in [-1, 1] or uint8.

    Columns (intensities in [0, 1]; luminance L = 0.299 R + 0.587 G + 0.114 B):

    - ``saturation``: mean HSV saturation (max - min) / max over pixels (RGB only, NaN for grey images);
    - ``contrast``: standard deviation of L over the image;
    - ``sharpness``: mean squared response of L to the 3x3 Laplacian (high-frequency energy).
    """
    x = _unit(images)
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
    return pd.DataFrame({
        "saturation": sat,
        "contrast": lum.flatten(1).std(1).numpy(),
        "sharpness": lap.pow(2).mean((1, 2, 3)).numpy(),
    })
