r"""The aggregated posterior q(z) = (1/N) sum_i q(z | x_i) of an encoder, against the prior N(0, I).

Notebook 07 measures how far a VAE's encodings are from the prior it was trained towards: per-dimension
variances (law of total variance), active units, and the KL of a Gaussian fit of q(z) to N(0, I).
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_kl_to_standard_normal", "aggregate_posterior"]


def gaussian_kl_to_standard_normal(mean, cov) -> float:
    r""":math:`\mathrm{KL}(\mathcal N(m, \Sigma) \,\|\, \mathcal N(0, I_d))
    = \frac12\left(\operatorname{tr}\Sigma + m^\top m - d - \log\det\Sigma\right)` in nats.

    ``cov`` is a (d, d) covariance or a (d,) diagonal.
    """
    mean = torch.as_tensor(mean, dtype=torch.float64)
    cov = torch.as_tensor(cov, dtype=torch.float64)
    d = mean.numel()
    if cov.ndim == 1:
        trace, logdet = cov.sum(), cov.log().sum()
    else:
        trace, logdet = torch.diagonal(cov).sum(), torch.linalg.slogdet(cov)[1]
    return float(0.5 * (trace + mean @ mean - d - logdet))


def aggregate_posterior(mu, logvar, active_threshold: float = 0.01) -> dict:
    r"""How far the encoder's outputs on a set of images are from the prior :math:`\mathcal N(0, I)`.

    The aggregated posterior :math:`q(z) = \frac1N \sum_i q(z \mid x_i)` has per-dimension variance
    :math:`\operatorname{Var}_i[\mu_{ij}] + \frac1N\sum_i \sigma^2_{ij}` (law of total variance); it equals
    the prior's only if both add up to 1.

    Returns
    -------
    dict
        ``mean`` (d,), ``var_means`` (d,) the variance of the encoder means, ``mean_post_var`` (d,) the mean
        posterior variance, ``total_var`` (d,) their sum, ``active`` (d,) bool: dimensions with
        ``var_means > active_threshold`` (Burda et al., 2016), ``kl_gaussian_fit`` the KL of the full-covariance
        Gaussian fit of :math:`q(z)` to the prior (nats, :func:`gaussian_kl_to_standard_normal`),
        ``kl_means_fit`` the same for the encoder means alone.
    """
    mu = torch.as_tensor(mu, dtype=torch.float64)
    post_var = torch.as_tensor(logvar, dtype=torch.float64).exp()
    m = mu.mean(0)
    cov_means = torch.cov(mu.T, correction=1)
    mean_post_var = post_var.mean(0)
    cov_total = cov_means + torch.diag(mean_post_var)
    var_means = torch.diagonal(cov_means)
    return {
        "mean": m.numpy(),
        "var_means": var_means.numpy(),
        "mean_post_var": mean_post_var.numpy(),
        "total_var": (var_means + mean_post_var).numpy(),
        "active": (var_means > active_threshold).numpy(),
        "kl_gaussian_fit": gaussian_kl_to_standard_normal(m, cov_total),
        "kl_means_fit": gaussian_kl_to_standard_normal(m, cov_means),
    }
