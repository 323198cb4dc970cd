r"""The exact law of a weighted sum of i.i.d. uniform components, and its monotone map.

Y is a shifted, scaled sum of independent U[-a_i, a_i] (a_i = |c_i|; zero coefficients are dropped,
negative ones flipped by symmetry). Its CDF is the piecewise polynomial

.. math:: F_S(s) = \sum_\epsilon (-1)^{|\epsilon|} (s - \epsilon\cdot b)_+^n / (n!\prod b_i)

of the sum S of U[0, b_i], b_i = 2 a_i. The coefficients of each polynomial piece are computed **exactly in
rational arithmetic**, expanded about the end of their interval nearest the tail, and only then rounded to
float64, so there is no inclusion-exclusion cancellation at evaluation time. Evaluation uses the odd symmetry
F(-w) = 1 - F(w): one table of pieces on [0, A] (A = sum a_i), a ``bucketize`` and a Horner scheme, in chunks,
in torch. The map is T(y) = 2 F_Y(y) - 1 on [-1, 1]; at the midpoint T(y) = y (2 - |y|).
"""

from __future__ import annotations

import math
from fractions import Fraction
from math import comb, factorial

import numpy as np

from ..backend import as_float, device_of, torch_dtype, via_numpy64
from ..priors import Uniform
from .laws import STEP_MAX, SumLaw, map_chunks

__all__ = ["UniformSumLaw", "box_sum_cost"]


def _box_sum_pieces(a: list[Fraction]) -> tuple[list[Fraction], list[list[Fraction]]]:
    """Exact pieces of G(x) = P(W <= -x) on [0, A] for W = sum a_i U_i, U_i ~ U[-1, 1], a_i > 0.

    Returns the interval breakpoints x_0 = 0 < ... < x_K = A and, per interval k,
    the exact coefficients g_{k,m} of G(x) = sum_m g_{k,m} (x - x_{k+1})^m, expanded
    about the interval's right end, where G is smallest: the last piece is then the
    single monomial (A - x)^n / (n! prod b_i), exact and monotone down to the edge.
    """
    n = len(a)
    b = [2 * ai for ai in a]
    big_a = sum(a)
    # signed vertices of the inclusion-exclusion formula, merged when they coincide
    verts: dict[Fraction, int] = {Fraction(0): 1}
    for bi in b:
        new = dict(verts)
        for v, w in verts.items():
            new[v + bi] = new.get(v + bi, 0) - w
        verts = {v: w for v, w in new.items() if w != 0}
    norm = Fraction(1, factorial(n))
    for bi in b:
        norm /= bi
    active = sorted((v, w) for v, w in verts.items() if v < big_a)
    xs = sorted({big_a - v for v, _ in active} | {Fraction(0)})
    xs = [x for x in xs if 0 <= x <= big_a]
    if xs[-1] != big_a:
        xs.append(big_a)
    pieces = []
    for xr in xs[1:]:
        s_c = s_min = big_a - xr
        coeffs = [Fraction(0)] * (n + 1)
        for v, w in active:
            if v > s_min:
                break
            d = s_c - v
            powers = [Fraction(1)]
            for _ in range(n):
                powers.append(powers[-1] * d)
            for m in range(n + 1):
                term = w * comb(n, m) * powers[n - m]
                coeffs[m] += -term if m % 2 else term  # (s_c - v - xi)^n, xi = x - centre
        pieces.append([c * norm for c in coeffs])
    return xs, pieces


def box_sum_cost(a: list[float]) -> int:
    """A bound on the Fraction operations of :func:`_box_sum_pieces` (distinct vertices^2 * degree)."""
    sums = {0.0}
    for ai in a:
        sums |= {s + 2 * ai for s in sums}
        if len(sums) > 4096:
            return 1 << 40
    return len(sums) ** 2 * (len(a) + 1) // 2


class UniformSumLaw(SumLaw):
    """Exact piecewise-polynomial law of a weighted sum of i.i.d. uniforms (see the module docstring)."""

    #: Larger problems (many distinct, unequal coefficients) fall back to :class:`NumericalSumLaw`.
    MAX_COST = 400_000

    def __init__(self, prior: Uniform, coeffs):
        super().__init__(prior, coeffs)
        m, h = prior.centre, prior.half_width
        self.shift = m * math.fsum(coeffs)  # y = shift + h * w, w = sum |c_i| U_i
        self.h = h
        a = sorted(abs(c) for c in coeffs if c != 0)
        self.a = tuple(a)
        xs, pieces = _box_sum_pieces([Fraction(x) for x in a])
        self.A = float(sum(Fraction(x) for x in a))
        self.degree = len(a)
        self.breaks = np.array([float(x) for x in xs])
        centres = xs[1:]  # each piece is expanded about its right end
        # G(x) = P(W <= -x): the lower tail, for cdf/sf
        self._g = np.array([[float(c)] + [float(p) for p in piece] for c, piece in zip(centres, pieces)])
        # -2 G(x): the standardised map on x = |w| is T_std(w) = sign(w) (1 - 2 G(|w|)); adding the 1 last
        # keeps the rounding monotone near the edges, where G is tiny
        self._q = np.array([[float(c)] + [float(-2 * pm) for pm in p] for c, p in zip(centres, pieces)])
        self._inner = self.breaks[1:-1].copy()
        self._kernels: dict = {}

    # float64 numpy evaluation of a table (cdf/sf; not the hot path)
    def _eval_np(self, table, x):
        idx = np.searchsorted(self._inner, x, side="left")
        tab = table[idx]
        xc = x - tab[..., 0]
        acc = tab[..., -1]
        for j in range(tab.shape[-1] - 2, 0, -1):
            acc = acc * xc + tab[..., j]
        return acc

    def _lower(self, w):
        """P(W <= -|w|), exact, 0 beyond the support."""
        x = np.minimum(np.abs(w), self.A)
        g = np.clip(self._eval_np(self._g, x), 0.0, 0.5)
        return np.where(np.abs(w) >= self.A, 0.0, g)

    def _w(self, y):
        return (y - self.shift) / self.h

    def cdf(self, y):
        def f(y):
            w = self._w(y)
            g = self._lower(w)
            return np.where(w <= 0, g, 1.0 - g)

        return via_numpy64(f, y)

    def sf(self, y):
        def f(y):
            w = self._w(y)
            g = self._lower(w)
            return np.where(w > 0, g, 1.0 - g)

        return via_numpy64(f, y)

    def _kernel(self, device, dtype):
        """A function (w, out) writing T_std(w) = sign(w) q(|w|) into ``out`` (cached per device and dtype)."""
        import torch

        key = (str(device), dtype)
        if key in self._kernels:
            return self._kernels[key]
        q = self._q.T.copy()  # (degree + 2, K): row 0 the centres, rows 1.. the coefficients
        deg, n_int, big_a = q.shape[0] - 2, q.shape[1], self.A
        if n_int - 1 <= STEP_MAX:
            # few pieces: c_j(x) = sum_k c_j[k] 1[x in piece k] with 0/1 indicators, so the selected
            # coefficients are exactly the table's (no gather, no rounding)
            vals = q.tolist()
            bounds = self._inner.tolist()

            def kernel(w, out):
                x = torch.abs(w).clamp_(max=big_a)
                above = [torch.gt(x, b).to(x.dtype) for b in bounds]  # [x > b_k], k = 1..K-1
                ind = [1.0 - above[0]] if above else []
                ind += [above[k] - above[k + 1] for k in range(len(above) - 1)]
                ind += above[-1:]

                def coef(j):
                    if not ind:
                        return torch.full_like(x, vals[j][0])
                    c = ind[0] * vals[j][0]
                    for k in range(1, len(ind)):
                        c.add_(ind[k], alpha=vals[j][k])
                    return c

                xc = x.sub_(coef(0))
                acc = coef(deg + 1)
                for j in range(deg, 0, -1):
                    acc = acc.mul_(xc).add_(coef(j))
                torch.copysign(acc.add_(1.0), w, out=out)
        else:
            table = torch.as_tensor(q, dtype=dtype, device=device).contiguous()
            inner = torch.as_tensor(self._inner, dtype=dtype, device=device)

            def kernel(w, out):
                x = torch.abs(w).clamp_(max=big_a)
                cols = table[:, torch.bucketize(x, inner)]
                xc = x.sub_(cols[0])
                acc = cols[deg + 1]
                for j in range(deg, 0, -1):
                    acc = torch.addcmul(cols[j], acc, xc)
                torch.copysign(acc.add_(1.0), w, out=out)

        self._kernels[key] = kernel
        return kernel

    def transport(self, y):
        import torch

        y = as_float(y)
        work = torch.promote_types(torch_dtype(y), torch.float32)
        kernel = self._kernel(device_of(y), work)
        if self.shift == 0.0 and self.h == 1.0:
            return map_chunks(y, kernel, work)
        lo, hi, m, h, shift = self.prior.low, self.prior.high, self.prior.centre, self.h, self.shift

        def affine(v, out):
            w = (v - shift) * (1.0 / h)
            kernel(w, w)
            torch.clamp(w.mul_(h).add_(m), lo, hi, out=out)

        return map_chunks(y, affine, work)
