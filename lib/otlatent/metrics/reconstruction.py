"""Reconstruction fidelity against clean images: MSE, PSNR and SSIM per image, by torchmetrics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import to_unit

__all__ = ["PSNR_CAP", "reconstruction_quality"]


#: Highest PSNR reported (dB): an error of half a uint8 grey level everywhere, 10 log10(1 / (0.5 / 255)^2) = 54.2.
PSNR_CAP = float(10 * np.log10(1 / (0.5 / 255) ** 2))


def reconstruction_quality(clean, reconstructed) -> pd.DataFrame:
    r"""Per-image fidelity of ``reconstructed`` to ``clean`` (both (N, C, H, W), [-1, 1] floats or uint8).

    On images mapped to [0, 1]: ``mse`` :math:`= \frac1D \lVert \hat x - x \rVert^2`,
    ``psnr`` :math:`= 10 \log_{10}(1 / \mathrm{mse})` dB, capped at :data:`PSNR_CAP` (identical images, e.g. a
    grey photograph whose colour channels were permuted, would otherwise score infinity and break every mean), and
    ``ssim`` (Wang et al., 2004: 11 x 11 Gaussian window,
    :math:`\sigma = 1.5`, :math:`K_1 = 0.01`, :math:`K_2 = 0.03`, averaged over the channels), both computed by
    ``torchmetrics.functional``.
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    x, y = to_unit(clean).float(), to_unit(reconstructed).float()
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    mse = (y.double() - x.double()).pow(2).flatten(1).mean(1)
    psnr = peak_signal_noise_ratio(y.double(), x.double(), data_range=1.0, reduction="none", dim=(1, 2, 3))
    psnr = psnr.clamp(max=PSNR_CAP)
    # float32: torchmetrics' SSIM is ~40x slower in float64 on the CPU; the float32 values differ by < 1e-5 on
    # textured images and by up to ~3e-4 on flat ones (cancellation in the local variances), far below the effects
    # compared here (tests/test_metrics.py checks both)
    ssim = structural_similarity_index_measure(y, x, data_range=1.0, reduction="none").double()
    return pd.DataFrame({"mse": mse.numpy(), "psnr": psnr.numpy(), "ssim": ssim.numpy()})
