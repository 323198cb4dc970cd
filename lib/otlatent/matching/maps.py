r"""The matched operations: each linear operation followed by the monotone map of its output's law.

For y = \sum_i c_i z_i with z_i i.i.d. from the prior, every component of y has the law F_Y of that
weighted sum (:func:`sum_law`), not the prior's. :func:`match` applies, component by component,

.. math:: \tilde y = T(y) = F_Z^{-1}(F_Y(y)),

the optimal map for any convex cost of the difference (Theorem 2; Theorem 1 lets it act per
component), so \tilde y has exactly the prior law. Each ``matched_*`` operation is the operation of
:mod:`otlatent.operations` followed by :func:`match` with that operation's coefficients.
"""

from __future__ import annotations

from ..operations import (
    analogy,
    analogy_coeffs,
    check_weights,
    combine,
    lerp,
    lerp_coeffs,
    stack_latents,
    vicinity,
    vicinity_coeffs,
    walk,
)
from ..priors import Gaussian, Uniform, get_prior
from .laws import CauchySumLaw, GaussianSumLaw, NumericalSumLaw, ScaleLaw, SumLaw, check_coeffs, is_cauchy
from .uniform import UniformSumLaw, box_sum_cost

__all__ = [
    "sum_law",
    "match",
    "matched_lerp",
    "matched_n_point",
    "matched_vicinity",
    "matched_analogy",
    "matched_random_walk",
]

_CACHE: dict = {}


def sum_law(prior, coeffs) -> SumLaw:
    """The (cached) law of ``sum_i coeffs[i] * z_i`` with ``z_i`` i.i.d. from ``prior``.

    ``prior`` is a :class:`~otlatent.priors.Prior` or a name accepted by
    :func:`~otlatent.priors.get_prior`. Zero coefficients are dropped.
    """
    prior = get_prior(prior)
    c = check_coeffs(coeffs)
    big = max(abs(x) for x in c)
    # zero coefficients, and those too small to change the sum in float64 (|c| < 2**-60 max|c|, e.g. t = 5e-324)
    c = tuple(x for x in c if abs(x) >= big * 2.0**-60)
    key = (prior, c)
    law = _CACHE.get(key)
    if law is None:
        if len(c) == 1 and c[0] > 0:
            law = ScaleLaw(prior, c)
        elif isinstance(prior, Gaussian):
            law = GaussianSumLaw(prior, c)
        elif is_cauchy(prior):
            law = CauchySumLaw(prior, c)
        elif isinstance(prior, Uniform) and box_sum_cost([abs(x) for x in c]) <= UniformSumLaw.MAX_COST:
            law = UniformSumLaw(prior, c)
        else:
            law = NumericalSumLaw(prior, c)
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = law
    return law


def match(y, coeffs, prior):
    """Map y = sum_i coeffs[i] z_i (z_i i.i.d. from ``prior``) component-wise onto the prior.

    Applies T(y) = F_Z^-1(F_Y(y)), the monotone (optimal) transport map from the
    law of the weighted sum to the prior, so the result has exactly the prior's
    law. Zero coefficients are dropped; negative ones are allowed.

    Parameters
    ----------
    y : ndarray or Tensor
        The result of the linear operation (any shape: the map acts element-wise).
    coeffs : sequence of float
        The coefficients c_i of the operation (see :func:`sum_law`).
    prior : Prior or str
        ``"gaussian"``, ``"uniform"``, or a :mod:`otlatent.priors` object.
    """
    return sum_law(prior, coeffs).transport(y)


def matched_lerp(z1, z2, t, prior):
    """Matched linear interpolation: ``match(lerp(z1, z2, t), (1 - t, t), prior)``.

    Same convention as :func:`~otlatent.operations.lerp` (t = 0 gives z1; the paper's t is our 1 - t).
    Gaussian: y / sqrt(t^2 + (1 - t)^2); uniform midpoint: y (2 - |y|).
    """
    return match(lerp(z1, z2, t), lerp_coeffs(t), prior)


def matched_n_point(zs, weights, prior):
    """Matched n-point interpolation: ``match(n_point(zs, weights), weights, prior)``."""
    prior = get_prior(prior)
    zs = stack_latents(zs)
    w = check_weights(weights, zs.shape[0])
    return match(combine(w, list(zs)), w, prior)


def matched_vicinity(z, u, eps, prior):
    """Matched vicinity sampling: ``match(z + eps u, (1, eps), prior)``.

    ``u`` must be a draw from the prior (independent of z): the map assumes it.
    Gaussian: (z + eps u) / sqrt(1 + eps^2).
    """
    return match(vicinity(z, u, eps), vicinity_coeffs(eps), prior)


def matched_analogy(z1, z2, z3, prior):
    """Matched analogy: ``match(z3 + z2 - z1, (-1, 1, 1), prior)``; Gaussian: y / sqrt(3)."""
    return match(analogy(z1, z2, z3), analogy_coeffs, prior)


def matched_random_walk(z0, steps, eps, prior):
    """Matched random walk: y_0 = z0, y_i = T(y_{i-1} + eps u_i) with T the map of coefficients (1, eps).

    z0 and the steps u_i are draws from the prior. Since y_{i-1} has the prior's law
    and is independent of u_i, every step sees exactly the law of z + eps u, so every
    y_i has the prior's law. Gaussian: y_i = (y_{i-1} + eps u_i) / sqrt(1 + eps^2).
    Returns the path, shape (n_steps + 1, *z0.shape).
    """
    law = sum_law(prior, vicinity_coeffs(eps))
    return walk(z0, steps, eps, law.transport)
