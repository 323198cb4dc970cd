"""Distances between feature sets: FID (Heusel et al., 2017), KID (Binkowski et al., 2018) and the unbiased
MMD^2 with KID's cubic polynomial kernel, computed as torch-fidelity computes them.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "frechet_distance",
    "fid_terms",
    "fid_from_stats",
    "moments",
    "kernel_distance",
    "poly_kernel",
    "mmd2",
    "mmd2_unbiased",
]


def check_features(features_a, features_b, minimum: int, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two finite (N, D) feature sets with the same D and at least ``minimum`` rows each, as float64 CPU tensors."""
    out = []
    for name, f in (("features_a", features_a), ("features_b", features_b)):
        t = torch.as_tensor(f).double().cpu()
        if t.ndim != 2:
            raise ValueError(f"{name} must have shape (N, D), got {tuple(t.shape)}")
        if len(t) < minimum:
            raise ValueError(f"{what} needs at least {minimum} samples in {name}, got {len(t)}")
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} holds NaN or inf features")
        out.append(t)
    if out[0].shape[1] != out[1].shape[1]:
        raise ValueError(
            f"features_a and features_b have different feature sizes ({out[0].shape[1]} vs {out[1].shape[1]}): "
            "compute both with the same feature extractor"
        )
    return out[0], out[1]


def frechet_distance(features_a, features_b) -> float:
    """FID between two feature sets (N, D), torch-fidelity's computation (``metric_fid.py``):
    ``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))``.
    """
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    fa, fb = check_features(features_a, features_b, minimum=2, what="FID (a covariance per set)")
    a = fid_features_to_statistics(fa)
    b = fid_features_to_statistics(fb)
    return float(fid_statistics_to_metric(a, b, verbose=False)["frechet_inception_distance"])


def moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance (ddof 1, as ``numpy.cov``) of the rows of ``x`` (float64)."""
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (len(x) - 1)


def fid_from_stats(mu_a, cov_a, mu_b, cov_b) -> float:
    """torch-fidelity's FID formula (trace of the matrix square root from the eigenvalues of ``S_a S_b``)."""
    mu_a, cov_a, mu_b, cov_b = (torch.as_tensor(v, dtype=torch.float64) for v in (mu_a, cov_a, mu_b, cov_b))
    diff = mu_a - mu_b
    tr_covmean = torch.linalg.eigvals(cov_a @ cov_b).sqrt().real.sum()
    return float(diff @ diff + cov_a.trace() + cov_b.trace() - 2 * tr_covmean)


def fid_terms(features_a, features_b) -> dict:
    r"""FID split into its two terms: ``mean`` = :math:`|\mu_a - \mu_b|^2` (where the sets sit) and ``covariance``
    = :math:`\mathrm{tr}(S_a) + \mathrm{tr}(S_b) - 2\,\mathrm{tr}((S_a S_b)^{1/2})` (how they spread); they sum to
    :func:`fid_from_stats`. A set that is less diverse than the real data but centred on it has a small mean term.
    """
    fa, fb = check_features(features_a, features_b, minimum=2, what="FID (a covariance per set)")
    mu_a, cov_a = moments(fa)
    mu_b, cov_b = moments(fb)
    total = fid_from_stats(mu_a, cov_a, mu_b, cov_b)
    mean = float((mu_a - mu_b) @ (mu_a - mu_b))
    return {"fid": total, "mean": mean, "covariance": total - mean}


def kernel_distance(features_a, features_b, subsets: int = 100, subset_size: int = 1000, seed: int = 2020) -> dict:
    """KID (Binkowski et al., 2018) between two feature sets, torch-fidelity's estimator (``metric_kid.py``):
    the unbiased MMD^2 with the cubic polynomial kernel ``(x.y / D + 1)^3`` on ``subsets`` random subsets of
    ``subset_size`` samples of each set (drawn without replacement by ``numpy.random.RandomState(seed).choice``),
    mean and population std over subsets.  Returns ``{"mean", "std"}``.

    Computed in torch (float64) rather than by calling torch-fidelity's numpy code, which is slow on a busy
    machine; ``tests/test_metrics.py`` checks that both give the same numbers.
    """
    a = torch.as_tensor(features_a).double().cpu()
    b = torch.as_tensor(features_b).double().cpu()
    if min(len(a), len(b)) < subset_size:
        raise ValueError(f"subset_size {subset_size} exceeds the number of samples ({len(a)}, {len(b)})")
    rng = np.random.RandomState(seed)
    mmds = np.empty(subsets)
    for i in range(subsets):
        x = a[torch.from_numpy(rng.choice(len(a), subset_size, replace=False))]
        y = b[torch.from_numpy(rng.choice(len(b), subset_size, replace=False))]
        mmds[i] = mmd2(x, y)
    return {"mean": float(mmds.mean()), "std": float(mmds.std())}


def poly_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2(a: torch.Tensor, b: torch.Tensor) -> float:
    m, n = len(a), len(b)
    kaa, kbb = poly_kernel(a, a), poly_kernel(b, b)
    return float(
        (kaa.sum() - kaa.diagonal().sum()) / (m * (m - 1))
        + (kbb.sum() - kbb.diagonal().sum()) / (n * (n - 1))
        - 2 * poly_kernel(a, b).mean()
    )


def mmd2_unbiased(features_a, features_b) -> float:
    """Unbiased MMD^2 with KID's cubic polynomial kernel on the full sets (no subsets)."""
    return mmd2(torch.as_tensor(features_a).double(), torch.as_tensor(features_b).double())
