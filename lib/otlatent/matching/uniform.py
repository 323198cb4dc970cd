r"""The exact law of a weighted sum of i.i.d. uniform components, and its monotone map.

Y is a shifted, scaled sum of independent U[-a_i, a_i] (a_i = |c_i|; zero coefficients are dropped,
negative ones flipped by symmetry). Its CDF is the piecewise polynomial

.. math:: F_S(s) = \sum_\epsilon (-1)^{|\epsilon|} (s - \epsilon\cdot b)_+^n / (n!\prod b_i)

of the sum S of U[0, b_i], b_i = 2 a_i. The coefficients of each polynomial piece are computed **exactly in
rational arithmetic**, expanded about the end of their interval nearest the tail, and only then rounded to
float64, so there is no inclusion-exclusion cancellation at evaluation time. Evaluation uses the odd symmetry
F(-w) = 1 - F(w): one table of pieces on [0, A] (A = sum a_i), a ``bucketize`` and a Horner scheme, in chunks,
in torch. The map is T(y) = 2 F_Y(y) - 1 on [-1, 1]; at the midpoint T(y) = y (2 - |y|).

Two evaluations of the same table give the same numbers (up to float rounding of the Horner steps):

- the eager kernel, over cache-sized chunks (:func:`~otlatent.matching.laws.map_chunks`), about 25 torch ops
  per chunk for the 4-point map;
- a fused kernel for large CPU inputs (at least :data:`FUSED_MIN` elements and at most :data:`FUSED_MAX_PIECES`
  pieces): the same formula, with the piece's coefficients selected by comparisons against the breakpoints,
  compiled by ``torch.compile`` (inductor, a C++ compiler) into one loop that reads y once and writes T once.
  It is used only where it compiles and, on its first use for a (degree, pieces, dtype), reproduces the eager
  kernel on a probe that includes the end points +-A; otherwise, or with the environment variable
  ``OTLATENT_COMPILE=0``, the eager kernel runs. The first compilation takes seconds.
"""

from __future__ import annotations

import math
import os
import warnings
from fractions import Fraction
from math import comb, factorial

import numpy as np

from ..backend import as_float, device_of, is_torch, torch_dtype, via_numpy64
from ..priors import Uniform
from .laws import STEP_MAX, SumLaw, map_chunks

__all__ = ["UniformSumLaw", "box_sum_cost", "fused_available", "FUSED_MIN", "FUSED_MAX_PIECES"]

#: CPU inputs with at least this many elements use the fused (compiled) kernel where it is available: below it
#: the eager kernel's time is small beside a first compilation.
FUSED_MIN = 1 << 22
#: The fused kernel selects coefficients by one comparison per breakpoint (unrolled): up to this many pieces.
FUSED_MAX_PIECES = 16
#: Compiled variants, one per (degree, pieces, dtype), kept below torch._dynamo's recompile limit (8).
FUSED_MAX_VARIANTS = 6

# the compiled function (built on first use), the variants checked (key -> usable), and whether compiling failed
_FUSED: dict = {"fn": None, "variants": {}, "failed": False}


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


def fused_available() -> bool:
    """Whether the fused kernel may be tried: not switched off (``OTLATENT_COMPILE=0``) and not failed to compile."""
    flag = os.environ.get("OTLATENT_COMPILE", "1").strip().lower()
    return flag not in ("0", "false", "no", "off") and not _FUSED["failed"]


def _fused_body(y, table, inner, params):
    r"""The whole map in one expression, for ``torch.compile`` (also runs eagerly, on whole arrays).

    With ``params = (shift, 1/h, h, m, lo, hi, A)``, w = (y - shift) / h, x = min(|w|, A) and
    the piece k = #{breakpoints b < x} (``table[:, k]`` = centre x_k then q_{k,0..n}):

    .. math:: T(y) = \mathrm{clip}(m + h\,\mathrm{sign}(w)\,(1 + q_k(x - x_k)), lo, hi),
              \quad q_k(\xi) = \sum_j q_{k,j} \xi^j \text{ by Horner.}

    The coefficients are selected by ``where`` on the comparisons, so they are the table's exactly.
    """
    import torch

    deg = table.shape[0] - 2
    v = y.to(table.dtype)
    w = (v - params[0]) * params[1]
    x = torch.abs(w).clamp(max=params[6])
    above = [x > inner[k] for k in range(inner.shape[0])]

    def coef(j):
        c = table[j, 0]
        for k, a in enumerate(above):
            c = torch.where(a, table[j, k + 1], c)
        return c

    xc = x - coef(0)
    acc = coef(deg + 1)
    for j in range(deg, 0, -1):
        acc = acc * xc + coef(j)
    t = torch.copysign(acc + 1.0, w)
    return torch.clamp(t * params[2] + params[3], params[4], params[5]).to(y.dtype)


def _compiled():
    """``torch.compile(_fused_body)`` (dynamic shapes: one compilation serves every length), built once."""
    import logging

    import torch

    if _FUSED["fn"] is None:
        # inductor imports torch.utils.cpp_extension, which warns "No CUDA runtime is found" on a machine with a
        # CUDA compiler and no GPU: a fact about the machine, not about this CPU kernel
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        _FUSED["fn"] = torch.compile(_fused_body, dynamic=True, fullgraph=True)
    return _FUSED["fn"]


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

    def _tables(self, device, dtype):
        """The fused kernel's tensors (table, breakpoints, parameters), cached per device and dtype."""
        import torch

        key = ("fused", str(device), dtype)
        if key not in self._kernels:
            p = self.prior
            params = [self.shift, 1.0 / self.h, self.h, p.centre, p.low, p.high, self.A]
            self._kernels[key] = tuple(
                torch.as_tensor(a, dtype=dtype, device=device).contiguous() for a in (self._q.T, self._inner, params)
            )
        return self._kernels[key]

    def _transport_fused(self, y):
        """T(y) by the compiled fused kernel (raises if it does not compile); any size, CPU or device."""
        import torch

        y = as_float(y)
        is_np = not is_torch(y)
        t = torch.from_numpy(np.ascontiguousarray(y)) if is_np else y
        work = torch.promote_types(t.dtype, torch.float32)
        table, inner, params = self._tables(t.device, work)
        with torch.no_grad():
            out = _compiled()(t.reshape(-1), table, inner, params).reshape(t.shape)
        return out.numpy() if is_np else out

    def _transport_eager(self, y):
        """T(y) by the eager kernel over cache-sized chunks."""
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

    def _fused_ok(self, work) -> bool:
        """Whether the fused kernel compiles for this law's shape of table and reproduces the eager one.

        Checked once per (degree, pieces, dtype) on a probe of w in [-1.5 A, 1.5 A] with the breakpoints
        and the end points: the end points must map exactly as in the eager kernel, the rest within 8 ulp.
        A compilation error switches the fused kernel off for the process (with a warning).
        """
        import torch

        key = (self.degree, len(self.breaks) - 1, work)
        variants = _FUSED["variants"]
        if key in variants:
            return variants[key]
        if len(variants) >= FUSED_MAX_VARIANTS:
            return False
        big_a = self.A
        w = np.concatenate(
            [np.linspace(-1.5 * big_a, 1.5 * big_a, 4099), self._inner, -self._inner, [-big_a, big_a, 0.0]]
        )
        y = torch.as_tensor(self.shift + self.h * w, dtype=work)
        try:
            got = self._transport_fused(y)
        except Exception as err:  # no C++ compiler, an unsupported platform or Python, an inductor bug, ...
            _FUSED["failed"] = True
            warnings.warn(
                f"otlatent: the fused uniform map does not compile ({type(err).__name__}: {str(err)[:200]}); "
                "using the eager kernel (set OTLATENT_COMPILE=0 to skip the attempt)",
                RuntimeWarning,
                stacklevel=3,
            )
            return False
        ref = self._transport_eager(y)
        scale = max(1.0, abs(self.prior.low), abs(self.prior.high))
        tol = 8 * torch.finfo(work).eps * scale
        ok = bool(torch.equal(got[-3:-1], ref[-3:-1])) and float((got - ref).abs().max()) <= tol
        if not ok:
            warnings.warn(
                f"otlatent: the fused uniform map differs from the eager kernel for {key}; using the eager kernel",
                RuntimeWarning,
                stacklevel=3,
            )
        variants[key] = ok
        return ok

    def transport(self, y):
        r"""T(y) = F_Z^{-1}(F_Y(y)) = m + h (2 F_W(w) - 1), w = (y - shift) / h, as the same kind, dtype and shape.

        On the CPU, inputs of at least :data:`FUSED_MIN` elements use the fused kernel where it is available
        (:func:`fused_available`, :meth:`_fused_ok`); everything else the eager one (see the module docstring).
        """
        import torch

        y = as_float(y)
        n = y.numel() if is_torch(y) else y.size
        if (
            n >= FUSED_MIN
            and str(device_of(y)) == "cpu"
            and len(self.breaks) - 1 <= FUSED_MAX_PIECES
            and fused_available()
            and self._fused_ok(torch.promote_types(torch_dtype(y), torch.float32))
        ):
            return self._transport_fused(y)
        return self._transport_eager(y)
