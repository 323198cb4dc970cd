r"""Matching to a learned latent law: component-wise monotone maps onto the marginals of an encoder's codes.

The paper matches an operation's output :math:`y` to the **prior** :math:`p_Z`. An auto-encoder's codes follow the
aggregated posterior :math:`q(z)` instead, which need not be the prior (notebooks 07 and 09). Here both laws are
estimated from samples, per component :math:`j`:

.. math::

    T_j(y) = \hat F_{q,j}^{-1}\bigl(\hat F_{Y,j}(y)\bigr),

with :math:`\hat F_{q,j}^{-1}` the interpolated empirical quantile function of the training codes and
:math:`\hat F_{Y,j}` the interpolated empirical CDF of the operation applied to independently drawn training codes
(a Monte Carlo sample of the law of :math:`y = \sum_i c_i z_i`, :math:`z_i \sim q` i.i.d.). Like the prior-matched
map, it is the 1-D optimal transport map of every component (Theorem 2 of the paper), and it assumes the
components of the endpoints are independent draws.
"""

from __future__ import annotations

import numpy as np
import torch

from .laws import check_coeffs

__all__ = ["EmpiricalLaw", "operation_samples", "match_to_law"]


class EmpiricalLaw:
    r"""Per-component empirical law of samples (n, d), interpolated between the plotting positions
    :math:`u_i = (i - 1/2)/n` of the sorted values :math:`y_{(i)}`: :meth:`cdf` and :meth:`quantile` are
    piecewise linear, increasing and inverse to each other on :math:`[y_{(1)}, y_{(n)}]`; below and above, the CDF is
    :math:`u_1` and :math:`u_n` (so a quantile of a CDF stays within the sample's range).
    """

    def __init__(self, samples):
        x = np.asarray(torch.as_tensor(samples, dtype=torch.float64).cpu())
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"samples must have shape (n, d) with n >= 2, got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("samples must be finite")
        self.sorted = np.sort(x, axis=0)
        self.n, self.d = x.shape
        self.u = (np.arange(self.n) + 0.5) / self.n

    def _check(self, y) -> np.ndarray:
        y = np.asarray(torch.as_tensor(y, dtype=torch.float64).cpu())
        if y.ndim != 2 or y.shape[1] != self.d:
            raise ValueError(f"expected values of shape (N, {self.d}), got {y.shape}")
        return y

    def cdf(self, y) -> np.ndarray:
        r""":math:`\hat F_j(y_{\cdot j})` per component, shape like ``y`` (N, d)."""
        y = self._check(y)
        return np.stack([np.interp(y[:, j], self.sorted[:, j], self.u) for j in range(self.d)], axis=1)

    def quantile(self, u) -> np.ndarray:
        r""":math:`\hat F_j^{-1}(u_{\cdot j})` per component, for ``u`` (N, d) in [0, 1]."""
        u = self._check(u)
        return np.stack([np.interp(u[:, j], self.u, self.sorted[:, j]) for j in range(self.d)], axis=1)


def operation_samples(codes, coeffs, n: int, seed: int = 0) -> torch.Tensor:
    r"""``n`` draws of :math:`y = \sum_i c_i z_i` with every :math:`z_i` an independently drawn row of ``codes``
    (with replacement): a Monte Carlo sample of the law of the operation's output when its endpoints follow the
    codes' law. Shape (n, d), float64.
    """
    coeffs = check_coeffs(coeffs)
    codes = torch.as_tensor(codes, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    out = torch.zeros(n, codes.shape[1], dtype=torch.float64)
    for c in coeffs:
        out += c * codes[torch.randint(len(codes), (n,), generator=gen)]
    return out


def match_to_law(y, coeffs, codes, n_mc: int = 100_000, seed: int = 0) -> torch.Tensor:
    r"""Map an operation's outputs ``y`` (N, d) onto the codes' marginals: :math:`T_j = \hat F_{q,j}^{-1} \circ
    \hat F_{Y,j}`, with :math:`\hat F_Y` from ``n_mc`` draws of :func:`operation_samples` (the operation with
    coefficients ``coeffs``, e.g. ``(0.5, 0.5)`` for the 2-point midpoint) and :math:`\hat F_q` from ``codes``.

    Returns a float32 tensor like ``y``. With ``coeffs = (1,)`` the output law is the codes' own, and the map sends
    every code to itself up to Monte Carlo error.
    """
    target = EmpiricalLaw(codes)
    source = EmpiricalLaw(operation_samples(codes, coeffs, n_mc, seed))
    return torch.from_numpy(target.quantile(source.cdf(y))).float()
