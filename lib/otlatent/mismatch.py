r"""Distribution mismatch: the KL divergence between the law of an operation's output and the prior.

The paper's Table 1 (and Figure 2) measure how far the linear operations push latents off the prior, per
component, by KL(F_Y || F_Z) (times d for d i.i.d. components): exactly (:func:`kl_exact`, numerical
integration of the laws of :mod:`otlatent.matching`), from samples (:func:`kl_estimate`, a binned plug-in
estimate with its standard error) and binned on the same cells (:func:`kl_binned`).
"""

from __future__ import annotations

import math

import numpy as np

from .backend import is_torch
from .matching.laws import CauchySumLaw, GaussianSumLaw, NumericalSumLaw, ScaleLaw, SumLaw
from .matching.uniform import UniformSumLaw
from .priors import Gaussian, Prior, Uniform, get_prior

__all__ = ["kl_exact", "kl_estimate", "kl_binned", "kl_cells"]


def _law_range(law: SumLaw) -> tuple[float, float]:
    """A finite interval holding all but ~1e-15 of the law's mass."""
    if isinstance(law, UniformSumLaw):
        half = law.h * law.A
        return law.shift - half, law.shift + half
    if isinstance(law, NumericalSumLaw):
        return float(law._grid[0]), float(law._grid[-1])
    prior = law.prior
    lo, hi = prior.support
    if isinstance(law, GaussianSumLaw):
        return -9.0 * law.scale, 9.0 * law.scale
    if isinstance(law, CauchySumLaw):
        q = float(prior._isf(np.array(1e-15))) - law.loc
        return law.shift - law.scale * q, law.shift + law.scale * q
    # ScaleLaw: the prior's quantiles, scaled
    qlo = lo if math.isfinite(lo) else float(prior._ppf(np.array(1e-15)))
    qhi = hi if math.isfinite(hi) else float(prior._isf(np.array(1e-15)))
    return law.c * qlo, law.c * qhi


def _masses(cdf, sf, edges, median):
    """Probabilities of the cells between ``edges`` (upper half from the survival function)."""
    F, S = np.asarray(cdf(edges), float), np.asarray(sf(edges), float)
    lower = np.diff(F)
    upper = -np.diff(S)
    mid = 0.5 * (edges[1:] + edges[:-1])
    return np.clip(np.where(mid <= median, lower, upper), 0.0, None)


def kl_exact(law: SumLaw, d: int = 1, reverse: bool = False, bins: int = 400_000) -> float:
    """KL(Y || Z) (or KL(Z || Y) with ``reverse``) in nats for d i.i.d. components: d times the 1-D value.

    Computed by quadrature: the real line is cut into ``bins`` cells spanning the
    union of both supports (plus the two unbounded tails), and
    KL = sum_k p_k log(p_k / q_k) over the cells' exact probabilities from the two
    CDFs. This binned value converges to the true KL from below as the cells
    shrink (O(h^2) for smooth densities). Returns ``inf`` when the first law puts mass
    where the second has none (e.g. a uniform vicinity sample outside [-1, 1]). For a Cauchy prior the closed form
    KL = log(((s_Y + s_Z)^2 + (m_Y - m_Z)^2) / (4 s_Y s_Z)) (symmetric) is used.
    """
    prior = law.prior
    if isinstance(law, CauchySumLaw):
        s_z = float(prior._ppf(np.array(0.75))) - law.loc
        s_y, m_y = s_z * law.scale, law.shift
        return float(d * math.log(((s_y + s_z) ** 2 + (m_y - law.loc) ** 2) / (4 * s_y * s_z)))
    a, b = _law_range(law)
    zlo, zhi = prior.support
    lo = min(a, zlo if math.isfinite(zlo) else float(prior._ppf(np.array(1e-15))))
    hi = max(b, zhi if math.isfinite(zhi) else float(prior._isf(np.array(1e-15))))
    edges = np.linspace(lo, hi, bins + 1)
    # exact support edges as cell edges, so that no cell straddles one
    extra = [x for x in (a, b, zlo, zhi) if math.isfinite(x)]
    edges = np.unique(np.concatenate([[-np.inf], edges, extra, [np.inf]]))
    med = 0.0 if isinstance(prior, (Gaussian, Uniform)) and (prior.median == 0.0) else prior.median

    p = _masses(law.cdf, law.sf, edges, med)
    q = _masses(prior.cdf, prior.sf, edges, med)
    second = prior
    if reverse:
        p, q = q, p
        second = law
    m = p > 0
    lo2, hi2 = _support(second)
    mid = 0.5 * (edges[1:] + edges[:-1])
    outside = (mid < lo2) | (mid > hi2)
    if np.any(m & (q == 0) & outside):
        return math.inf
    m &= q > 0  # cells inside the second law's support whose mass underflowed (numerical laws' far tails)
    return float(d * np.sum(p[m] * np.log(p[m] / q[m])))


def _support(law_or_prior) -> tuple[float, float]:
    """The theoretical support of a sum law or a prior (infinite ends where unbounded)."""
    if isinstance(law_or_prior, Prior):
        return law_or_prior.support
    if isinstance(law_or_prior, NumericalSumLaw):
        return law_or_prior.support
    if isinstance(law_or_prior, (GaussianSumLaw, CauchySumLaw)):
        return (-math.inf, math.inf)
    if isinstance(law_or_prior, ScaleLaw):
        lo, hi = law_or_prior.prior.support
        return (law_or_prior.c * lo, law_or_prior.c * hi)
    return _law_range(law_or_prior)


def kl_cells(prior, law: SumLaw | None = None, bins: int = 1000) -> np.ndarray:
    """Cell edges for :func:`kl_estimate`: ``bins`` cells of equal prior probability, or, with ``law``,
    half of them equiprobable under the prior and half evenly spaced over the law's central
    range (its 1e-7 .. 1 - 1e-7 quantiles), so that a law much wider or narrower than the prior is
    resolved too. The outer edges are the prior's support ends or +-inf.
    """
    prior = get_prior(prior)
    lo, hi = prior.support
    k = bins if law is None else bins // 2
    inner = np.asarray(prior._ppf(np.linspace(0.0, 1.0, k + 1)[1:-1]))
    if law is not None:
        a, b = _law_range(law)
        grid = np.linspace(a, b, 20001)
        F = np.asarray(law.cdf(grid), float)
        qa, qb = np.interp([1e-7, 1 - 1e-7], F, grid)
        inner = np.concatenate([inner, np.linspace(qa, qb, bins - k + 1)])
    inner = inner[np.isfinite(inner)]
    return np.unique(np.concatenate([[-np.inf], inner, [np.inf], [lo, hi]]))


def kl_estimate(samples, prior, d: int = 1, edges=None, bins: int = 1000) -> tuple[float, float]:
    """Estimate KL(samples' law || prior) from i.i.d. 1-D samples; returns (estimate, standard error), times d.

    The estimator: with cells given by ``edges`` (default :func:`kl_cells`: ``bins``
    cells of equal prior probability), exact prior cell probabilities p_b and
    empirical frequencies f_b, it is the plug-in sum_b f_b log(f_b / p_b) minus the
    Miller-Madow bias (B_occupied - 1) / (2N). It estimates the KL between the two
    laws coarsened to those cells (:func:`kl_binned`), a lower bound of the true KL
    that converges to it as the cells shrink. Standard error:
    sqrt(Var_f[log(f_b / p_b)] / N + (B - 1) / (2 N^2)) (delta method, plus the
    chi-square spread of the null case). Mass where the prior has none gives ``inf``.
    """
    prior = get_prior(prior)
    x = np.asarray(samples.detach().cpu() if is_torch(samples) else samples, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        raise ValueError("kl_estimate needs at least one sample, got none")
    bad = int(n - np.count_nonzero(np.isfinite(x)))
    if bad:
        raise ValueError(
            f"kl_estimate: {bad} of the {n} samples are NaN or infinite (a diverged map or operation?); they are "
            "no samples of a law on the real line. Fix their source, or drop them explicitly: x[np.isfinite(x)]"
        )
    edges = kl_cells(prior, bins=bins) if edges is None else np.asarray(edges, float)
    p = _masses(prior.cdf, prior.sf, edges, prior.median)
    counts = np.bincount(np.clip(np.searchsorted(edges, x, side="right") - 1, 0, p.size - 1), minlength=p.size)
    f = counts / n
    m = f > 0
    if np.any(p[m] == 0):
        return math.inf, 0.0
    logr = np.log(f[m] / p[m])
    plug = float(np.sum(f[m] * logr))
    est = plug - (m.sum() - 1) / (2 * n)
    var = float(np.sum(f[m] * logr**2) - plug**2)
    b = int((p > 0).sum())
    se = math.sqrt(max(var, 0.0) / n + (b - 1) / (2 * n * n))
    return d * est, d * se


def kl_binned(law, prior, d: int = 1, edges=None, bins: int = 1000) -> float:
    """The value :func:`kl_estimate` converges to: KL of ``law`` vs the prior on the same cells."""
    prior = get_prior(prior)
    edges = kl_cells(prior, bins=bins) if edges is None else np.asarray(edges, float)
    p = _masses(law.cdf, law.sf, edges, prior.median)
    q = _masses(prior.cdf, prior.sf, edges, prior.median)
    m = p > 0
    if np.any(q[m] == 0):
        return math.inf
    return float(d * np.sum(p[m] * np.log(p[m] / q[m])))
