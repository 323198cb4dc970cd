r"""The aggregated posterior q(z) = (1/N) sum_i q(z | x_i) of an encoder, against the prior N(0, I).

Notebook 07 measures how far a VAE's encodings are from the prior it was trained towards: per-dimension
variances (law of total variance), active units, and the KL of a Gaussian fit of q(z) to N(0, I).
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_kl_to_standard_normal", "aggregate_posterior", "imq_mmd_test", "latent_law"]


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


def imq_mmd_test(codes, prior_samples, n_perm: int = 200, seed: int = 0, scales=None) -> dict:
    r"""Permutation test of :math:`q = p` with the unbiased IMQ :math:`\widehat{\mathrm{MMD}}{}^2` of WAE-MMD
    (:func:`otlatent.wae.imq_mmd2`, kernel summed over the scales :math:`C = 2 d s`).

    The summed kernel matrix of the pooled samples is computed once; each of ``n_perm`` relabellings (sizes kept)
    gives a null value. Returns ``{"mmd2", "p", "null"}``, ``p`` one-sided, :math:`(1 + \#\{T^* \ge T\})/(1 + B)`.
    """
    import numpy as np

    from .wae import IMQ_SCALES

    x = torch.as_tensor(codes, dtype=torch.float64)
    y = torch.as_tensor(prior_samples, dtype=torch.float64)
    pooled = torch.cat([x, y])
    d2 = torch.cdist(pooled, pooled).pow(2)
    kernel = sum((c := 2.0 * x.shape[1] * s) / (c + d2) for s in (scales or IMQ_SCALES))
    kernel.fill_diagonal_(0.0)
    m, n = len(x), len(y)
    rng = np.random.default_rng(seed)
    # column 0: the observed split; then one random relabelling per column. With u the indicator of the first
    # sample, its within-sum is u'Ku, the other's (1-u)'K(1-u) and the cross-sum u'K(1-u): one matrix product
    labels = [np.arange(m + n) < m] + [rng.permutation(m + n) < m for _ in range(n_perm)]
    u = torch.from_numpy(np.stack(labels, axis=1).astype(np.float64))
    ku, total = kernel @ u, kernel.sum()
    within_a = (u * ku).sum(0)
    cross = ku.sum(0) - within_a  # 1'Ku - u'Ku = u'K(1-u), K symmetric
    within_b = total - within_a - 2 * cross
    stats_ = (within_a / (m * (m - 1)) + within_b / (n * (n - 1)) - 2 * cross / (m * n)).numpy()
    observed, null = float(stats_[0]), stats_[1:]
    return {"mmd2": observed, "p": float((1 + np.sum(null >= observed)) / (1 + n_perm)), "null": null}


def latent_law(codes, n_mmd: int = 1000, n_perm: int = 200, seed: int = 0) -> dict:
    r"""How far a set of codes (samples of an aggregated posterior, (N, d)) is from the prior :math:`\mathcal N(0, I)`.

    Returns
    -------
    dict
        ``mmd2`` and ``mmd_p``: :func:`imq_mmd_test` of ``n_mmd`` codes against as many prior draws;
        ``ks`` (d,) the Kolmogorov-Smirnov statistic of each component against :math:`\mathcal N(0, 1)` and
        ``ks_rejected`` the number of components rejected at 0.05 after Holm's correction; ``kl_gaussian_fit`` the
        KL of the codes' full-covariance Gaussian fit to the prior (nats); ``norm_mean`` the mean of
        :math:`\lVert z\rVert` and ``prior_norm_mean`` the prior's,
        :math:`\sqrt2\,\Gamma(\frac{d+1}2)/\Gamma(\frac d2)`.
    """
    import math

    import numpy as np
    from scipy import stats

    from .metrics.resampling import holm

    z = torch.as_tensor(codes, dtype=torch.float64)
    d = z.shape[1]
    gen = torch.Generator().manual_seed(seed)
    sub = z[torch.randperm(len(z), generator=gen)[:n_mmd]]
    test = imq_mmd_test(sub, torch.randn(len(sub), d, generator=gen, dtype=torch.float64), n_perm, seed)
    ks = [stats.kstest(z[:, j].numpy(), "norm") for j in range(d)]
    p_ks = holm(np.array([r.pvalue for r in ks]))
    return {
        "mmd2": test["mmd2"],
        "mmd_p": test["p"],
        "ks": np.array([r.statistic for r in ks]),
        "ks_rejected": int((p_ks < 0.05).sum()),
        "kl_gaussian_fit": gaussian_kl_to_standard_normal(z.mean(0), torch.cov(z.T, correction=1)),
        "norm_mean": float(z.norm(dim=1).mean()),
        "prior_norm_mean": math.sqrt(2) * math.exp(math.lgamma((d + 1) / 2) - math.lgamma(d / 2)),
    }
