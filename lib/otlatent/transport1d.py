r"""Optimal transport in one dimension: CDFs, quantile functions, W_p and the monotone map.

The study's two theorems (see ``shared/reference/paper.md`` §3) reduce the matched latent
operations to one-dimensional transport: with i.i.d. components and an additive cost the
d-dimensional problem splits into d copies of a 1-D problem, and in 1-D the monotone map

.. math:: T(x) = F_\nu^{[-1]}\big(F_\mu(x)\big), \qquad F^{[-1]}(u) = \inf\{t : F(t) \ge u\}

is optimal for every cost :math:`h(x - y)` with :math:`h` convex.  This module implements

- :func:`wasserstein_1d` -- :math:`W_p` between two weighted samples by their quantile functions;
- :func:`empirical_cdf`, :func:`empirical_quantile`, :func:`cdf`, :func:`quantile` -- CDFs and the
  pseudo-inverse, for samples and for ``scipy.stats`` distributions;
- :func:`monotone_map` -- :math:`F_\text{target}^{[-1]} \circ F_\text{source}`, the one implementation
  of the paper's map: the latent-space matching (:mod:`otlatent.matching`) calls it.

The discrete Kantorovich problem and the Gaussian maps are in :mod:`otlatent.kantorovich`.

Inputs are checked: empty arrays, NaN or infinite values, negative weights, weights that do not
sum to one and mismatched sizes raise ``ValueError`` saying what is wrong.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "WEIGHT_SUM_TOL",
    "as_samples",
    "wasserstein_1d",
    "empirical_cdf",
    "empirical_quantile",
    "cdf",
    "quantile",
    "monotone_map",
]

#: Weights must sum to one within this absolute tolerance (they are then rescaled to sum to one exactly).
WEIGHT_SUM_TOL = 1e-8


# ----------------------------------------------------------------------------------------- checks
def as_samples(x, name: str) -> np.ndarray:
    """``x`` as a 1-D float64 array of finite values, at least one."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of samples, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: a distribution needs at least one sample")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} holds {bad} NaN or infinite value(s)")
    return arr


def _weights(w, n: int, name: str, values_name: str) -> np.ndarray | None:
    """Validate probability weights for ``n`` samples; ``None`` stays ``None`` (uniform)."""
    if w is None:
        return None
    arr = np.asarray(w, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} has shape {arr.shape} but {values_name} has {n} samples: give one weight per sample")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} holds {int(np.count_nonzero(arr < 0))} negative weight(s): weights are probabilities")
    total = float(arr.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOL:
        raise ValueError(f"{name} sum to {total!r}, not 1: pass normalised weights (w / w.sum())")
    return arr / total


def _probabilities(u, name: str = "u") -> np.ndarray:
    arr = np.asarray(u, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if np.any(np.isnan(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"{name} must hold probability levels in [0, 1]")
    return arr


def _is_distribution(obj, needs=("cdf", "ppf", "sf", "isf")) -> bool:
    """A ``scipy.stats`` (frozen) distribution, or any law with the methods ``needs`` (e.g. a prior of
    :mod:`otlatent.priors` or a weighted-sum law of :mod:`otlatent.matching`).
    """
    return all(callable(getattr(obj, attr, None)) for attr in needs)


def _sorted_with_cumweights(x: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted atoms and their cumulative weights; uniform weights give the exact levels i/n."""
    n = x.shape[0]
    if w is None:
        return np.sort(x), np.arange(1, n + 1, dtype=np.float64) / n
    order = np.argsort(x)  # order within ties is irrelevant: tied atoms have the same quantile value
    cw = np.cumsum(w[order])
    return x[order], cw


# ------------------------------------------------------------------------------ Wasserstein in 1-D
def wasserstein_1d(x, y, p: float = 1, x_weights=None, y_weights=None) -> float:
    r"""The p-Wasserstein distance :math:`W_p` between two weighted samples on the real line.

    In one dimension the optimal coupling is the quantile coupling, so

    .. math:: W_p(\mu, \nu) = \Big(\int_0^1 \big|F_\mu^{[-1]}(u) - F_\nu^{[-1]}(u)\big|^p \,du\Big)^{1/p},

    where :math:`F^{[-1]}(u) = \inf\{t : F(t) \ge u\}`.  For empirical measures both quantile
    functions are step functions; between consecutive levels of the merged cumulative weights
    both are constant, and the integral is a finite sum.  With equal sizes and uniform weights
    it reduces to :math:`\frac1n\sum_i |x_{(i)} - y_{(i)}|^p` (sort both samples, pair them in order).
    Cost: two sorts, :math:`O((n + m)\log(n + m))`.

    Parameters
    ----------
    x, y : array_like, shape (n,) and (m,)
        Samples (atoms) of the two distributions; sizes may differ.
    p : float, default 1
        Order, ``p >= 1``.
    x_weights, y_weights : array_like, optional
        Probability weights of the atoms (default uniform).  They must be non-negative and sum to
        one within :data:`WEIGHT_SUM_TOL`; unlike ``scipy.stats.wasserstein_distance`` this
        function does not normalise them for you, since unnormalised weights are usually a bug.

    Returns
    -------
    float
        :math:`W_p` itself -- not :math:`W_p^p`, which is what ``ot.wasserstein_1d`` returns.

    Raises
    ------
    ValueError
        Empty or non-1-D samples, NaN or infinite values, ``p < 1``, weights of the wrong length,
        negative or not summing to one.
    """
    x = as_samples(x, "x")
    y = as_samples(y, "y")
    p = float(p)
    if not (np.isfinite(p) and p >= 1):
        raise ValueError(f"p must be a finite number >= 1, got {p!r}")
    wx = _weights(x_weights, x.shape[0], "x_weights", "x")
    wy = _weights(y_weights, y.shape[0], "y_weights", "y")
    n, m = x.shape[0], y.shape[0]
    xs, cx = _sorted_with_cumweights(x, wx)
    ys, cy = _sorted_with_cumweights(y, wy)
    if wx is None and wy is None and n == m:
        diff = np.abs(xs - ys)
        wpp = float(np.mean(diff if p == 1 else diff**p))
        return wpp ** (1.0 / p)
    # Merge the two sets of levels; a stable sort of two sorted runs is linear (timsort).
    levels = np.concatenate([cx, cy])
    order = np.argsort(levels, kind="stable")
    levels = levels[order]
    from_x = order < n
    # On the interval (levels[k-1], levels[k]] the x quantile is x_(i), i = #x-levels strictly before k.
    ix = np.cumsum(from_x)
    ix -= from_x
    iy = np.arange(n + m) - ix  # y-levels before k = k - (x-levels before k)
    np.minimum(ix, n - 1, out=ix)
    np.minimum(iy, m - 1, out=iy)
    widths = np.diff(levels, prepend=0.0)
    diff = np.abs(xs[ix] - ys[iy])
    wpp = float(np.dot(widths, diff if p == 1 else diff**p))
    return max(wpp, 0.0) ** (1.0 / p)


# ------------------------------------------------------------------------------ CDFs and quantiles
def empirical_cdf(samples, t, weights=None) -> np.ndarray:
    r"""The empirical CDF :math:`F(t) = \sum_i w_i \,\mathbf 1[x_i \le t]` (right-continuous).

    Parameters
    ----------
    samples : array_like, shape (n,)
        Atoms :math:`x_i`.
    t : array_like
        Where to evaluate; any shape.
    weights : array_like, shape (n,), optional
        Probability weights (default :math:`1/n`), non-negative, summing to one.

    Returns
    -------
    ndarray
        :math:`F(t)`, same shape as ``t``.
    """
    x = as_samples(samples, "samples")
    w = _weights(weights, x.shape[0], "weights", "samples")
    xs, cw = _sorted_with_cumweights(x, w)
    t = np.asarray(t, dtype=np.float64)
    if np.any(np.isnan(t)):
        raise ValueError("t holds NaN values")
    k = np.searchsorted(xs, t, side="right")  # number of atoms <= t
    cw0 = np.concatenate([[0.0], cw])
    return np.minimum(cw0[k], 1.0)


def empirical_quantile(samples, u, weights=None) -> np.ndarray:
    r"""The empirical quantile function, the pseudo-inverse :math:`F^{[-1]}(u) = \inf\{t : F(t) \ge u\}`.

    For :math:`u \in (0, 1]` this is the smallest atom :math:`x_{(i)}` whose cumulative weight
    reaches :math:`u` (numpy's ``method="inverted_cdf"``).  At :math:`u = 0` the infimum is
    :math:`-\infty`; the smallest atom is returned instead, the convention of the quantile coupling.

    Parameters
    ----------
    samples : array_like, shape (n,)
        Atoms.
    u : array_like
        Levels in :math:`[0, 1]`; any shape.
    weights : array_like, shape (n,), optional
        Probability weights (default :math:`1/n`), non-negative, summing to one.

    Returns
    -------
    ndarray
        :math:`F^{[-1]}(u)`, same shape as ``u``.
    """
    x = as_samples(samples, "samples")
    w = _weights(weights, x.shape[0], "weights", "samples")
    xs, cw = _sorted_with_cumweights(x, w)
    u = _probabilities(u)
    k = np.searchsorted(cw, u, side="left")  # first i with cw[i] >= u
    return xs[np.minimum(k, xs.shape[0] - 1)]


def cdf(source, t, weights=None) -> np.ndarray:
    r"""CDF :math:`F(t)` of ``source``: a ``scipy.stats`` distribution (analytic) or an array of samples.

    Samples use :func:`empirical_cdf` (with optional ``weights``); a distribution its ``cdf``.
    """
    if _is_distribution(source, ("cdf",)):
        if weights is not None:
            raise ValueError("weights only apply to samples, not to a scipy distribution")
        return np.asarray(source.cdf(np.asarray(t, dtype=np.float64)))
    return empirical_cdf(source, t, weights)


def quantile(source, u, weights=None) -> np.ndarray:
    r"""Quantile function :math:`F^{[-1]}(u) = \inf\{t : F(t) \ge u\}` of a distribution or of samples.

    A ``scipy.stats`` distribution uses its ``ppf`` (which is this pseudo-inverse, also for
    discrete distributions); samples use :func:`empirical_quantile`.
    """
    if _is_distribution(source, ("ppf",)):
        if weights is not None:
            raise ValueError("weights only apply to samples, not to a scipy distribution")
        return np.asarray(source.ppf(_probabilities(u)))
    return empirical_quantile(source, u, weights)


def monotone_map(x, source, target, source_weights=None, target_weights=None) -> np.ndarray:
    r"""The monotone (increasing) transport map :math:`T(x) = F_\text{target}^{[-1]}(F_\text{source}(x))`.

    If the source law has no atoms, :math:`T` pushes it forward onto the target law
    (:math:`F_\text{source}(X)` is uniform on :math:`[0, 1]` and :math:`F^{[-1]}(U)` has law
    :math:`F`), and it is an optimal Monge map for every cost :math:`h(x - y)` with :math:`h`
    convex (Santambrogio 2015, Thm 2.9; Theorem 2 of the paper).  For empirical laws with equal
    sizes and uniform weights, :math:`T` sends the i-th smallest source atom to the i-th smallest
    target atom.  If the source has atoms of unequal mass no map can push it forward in general:
    :math:`T` then sends each atom to a single point.

    Parameters
    ----------
    x : array_like
        Points to transport; any shape.
    source, target : scipy.stats distribution or array_like of samples
        The two laws.  Samples define empirical laws (optionally weighted).
    source_weights, target_weights : array_like, optional
        Weights of the samples, when ``source`` / ``target`` are samples.

    Returns
    -------
    ndarray
        :math:`T(x)`, same shape as ``x``.

    Notes
    -----
    When both laws are analytic, the upper tail is computed with survival functions,
    :math:`T(x) = \bar F_\text{target}^{-1}(\bar F_\text{source}(x))` where :math:`F_\text{source}(x) > 1/2`,
    so that e.g. the map between two Gaussians stays exact at 10 standard deviations, where
    :math:`F(x)` rounds to 1.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError("x is empty")
    if np.any(np.isnan(x)):
        raise ValueError("x holds NaN values")
    u = cdf(source, x, source_weights)
    if _is_distribution(source, ("cdf", "sf")) and _is_distribution(target, ("ppf", "isf")):
        if target_weights is not None:
            raise ValueError("weights only apply to samples, not to a scipy distribution")
        upper = u > 0.5
        out = np.asarray(target.ppf(u), dtype=np.float64).copy()
        if np.any(upper):
            out[upper] = target.isf(source.sf(x[upper]))
        return out
    return quantile(target, u, target_weights)
