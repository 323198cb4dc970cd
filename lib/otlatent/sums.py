r"""The law of a weighted sum of i.i.d. prior components, and its monotone transport map to the prior.

For y = \sum_i c_i z_i with z_i i.i.d. from a 1-D prior law F_Z, :func:`sum_law`
returns an object with

``cdf(y)``, ``sf(y)``
    F_Y and 1 - F_Y (the latter accurate in the upper tail);
``transport(y)``
    the monotone (optimal, Theorem 2 of the paper) map T(y) = F_Z^{-1}(F_Y(y)),
    which sends the law of Y exactly onto the prior.

Three implementations, chosen by the prior:

:class:`GaussianSumLaw` (``Gaussian``)
    Y ~ N(0, \sum c_i^2): T is the rescaling y / \sqrt{\sum c_i^2}. Exact.
:class:`UniformSumLaw` (``Uniform``)
    Y is a shifted, scaled sum of independent U[-a_i, a_i] (a_i = |c_i|; zero
    coefficients are dropped, negative ones flipped by symmetry). Its CDF is the
    piecewise polynomial F_S(s) = \sum_\epsilon (-1)^{|\epsilon|} (s - \epsilon\cdot b)_+^n / (n!\prod b_i)
    of the sum S of U[0, b_i], b_i = 2 a_i. The coefficients of each polynomial
    piece are computed **exactly in rational arithmetic**, expanded about the end of
    their interval nearest the tail, and only then rounded to float64, so there is no
    inclusion-exclusion cancellation at evaluation time. Evaluation uses the odd
    symmetry F(-w) = 1 - F(w): one table of pieces on [0, A] (A = \sum a_i), a
    ``bucketize`` and a Horner scheme, in chunks, in torch.
:class:`NumericalSumLaw` (any other :class:`~otlatent.priors.Iid` prior)
    The masses of each c_i z_i on a common lattice (from exact CDF differences,
    upper tails from the survival function) are convolved by FFT; F_Y and the
    survival function 1 - F_Y are cumulative sums from either end, T is
    tabulated as ppf(F_Y) below the median and isf(1 - F_Y) above it, and
    interpolated linearly. Beyond the range where either tail probability is
    above ``1e-10`` T is continued linearly (tails of these sums are
    asymptotically linear maps for exponential and power-law tails) and clipped to
    the prior's support where that is bounded, so extreme or edge inputs never
    give NaN or inf. Measured error of T (2**18 lattice points, ``tests/test_priors.py``):
    at most 1e-8 against the exact Gaussian maps on +-5.5 sd, 2e-10 against the exact
    uniform maps, 1e-8 against the closed-form Laplace midpoint for |y| < 8; in the far
    tail, where the linear continuation takes over, 0.12 at |y| = 20 for the Laplace
    midpoint (a tail probability of 1e-17).
"""
from __future__ import annotations

import math
from fractions import Fraction
from math import comb, factorial

import numpy as np
import scipy.signal

from .priors import Gaussian, Prior, Uniform, _float_array, _is_torch, get_prior

__all__ = ["sum_law", "SumLaw", "GaussianSumLaw", "UniformSumLaw", "NumericalSumLaw", "ScaleLaw", "check_coeffs",
           "kl_exact", "kl_estimate", "kl_binned"]

#: Elements per chunk for CPU evaluation (keeps temporaries in cache).
CPU_CHUNK = 1 << 15
#: Elements per chunk on accelerators.
DEVICE_CHUNK = 1 << 24
#: Piece counts up to STEP_MAX + 1 select coefficients by step functions rather than a gather.
STEP_MAX = 4


def _torch_dtype(y):
    import torch

    return y.dtype if _is_torch(y) else getattr(torch, np.dtype(y.dtype).name)


def _device(y):
    return y.device if _is_torch(y) else "cpu"


def _map_chunks(y, kernel, work_dtype):
    """Apply ``kernel(v, out)`` over ``y`` (NumPy or torch) in chunks; same type, dtype, device and shape out.

    On the CPU the chunks hold at most torch's grain size (32768 elements), so every
    op runs single-threaded inside the cache, and ``torch.get_num_threads()``
    Python threads share the chunks (torch releases the GIL inside ops). This avoids
    OpenMP fork/join per small op, which is slow -- and very slow on a busy machine.
    """
    import torch

    is_np = not _is_torch(y)
    t = torch.from_numpy(np.ascontiguousarray(y)) if is_np else y
    flat = t.reshape(-1)
    out = torch.empty(flat.shape, dtype=t.dtype, device=t.device)
    n = flat.numel()
    same = t.dtype == work_dtype

    def run(start, stop):
        v = flat[start:stop].to(work_dtype)
        if same:
            kernel(v, out[start:stop])
        else:
            tmp = torch.empty_like(v)
            kernel(v, tmp)
            out[start:stop] = tmp

    with torch.no_grad():
        if t.device.type != "cpu":
            for s in range(0, n, DEVICE_CHUNK):
                run(s, min(n, s + DEVICE_CHUNK))
        else:
            starts = range(0, n, CPU_CHUNK)
            workers = max(1, min(torch.get_num_threads(), len(starts)))
            if workers == 1:
                for s in starts:
                    run(s, min(n, s + CPU_CHUNK))
            else:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(lambda s: run(s, min(n, s + CPU_CHUNK)), starts))
    out = out.reshape(t.shape)
    return out.numpy() if is_np else out


def check_coeffs(coeffs) -> tuple[float, ...]:
    """Validate a coefficient vector: finite floats, at least one non-zero."""
    try:
        c = tuple(float(x) for x in np.asarray(coeffs, dtype=np.float64).ravel())
    except (TypeError, ValueError):
        raise ValueError(f"coefficients must be real numbers, got {coeffs!r}") from None
    if not c:
        raise ValueError("coefficients must not be empty")
    if not all(math.isfinite(x) for x in c):
        raise ValueError(f"coefficients must be finite, got {c}")
    if all(x == 0 for x in c):
        raise ValueError("at least one coefficient must be non-zero (the sum would be a constant)")
    return c


class SumLaw:
    """The law of y = sum_i c_i z_i, z_i i.i.d. from ``prior`` (one component)."""

    def __init__(self, prior: Prior, coeffs: tuple[float, ...]):
        self.prior = prior
        self.coeffs = coeffs

    def cdf(self, y):
        raise NotImplementedError

    def sf(self, y):
        raise NotImplementedError

    def transport(self, y):
        """The monotone map T(y) = F_Z^-1(F_Y(y)) onto the prior, component-wise."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.prior!r}, coeffs={self.coeffs})"


# ----------------------------------------------------------------------------------------------
class GaussianSumLaw(SumLaw):
    """Y ~ N(0, sum c_i^2): the map is one rescaling."""

    def __init__(self, prior, coeffs):
        super().__init__(prior, coeffs)
        self.scale = math.sqrt(math.fsum(c * c for c in coeffs))

    def cdf(self, y):
        return self.prior.cdf(_float_array(y) / self.scale)

    def sf(self, y):
        return self.prior.sf(_float_array(y) / self.scale)

    def transport(self, y):
        y = _float_array(y)
        if _is_torch(y):
            return y * (1.0 / self.scale)
        return y * y.dtype.type(1.0 / self.scale)


# ----------------------------------------------------------------------------------------------
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
    for xl, xr in zip(xs[:-1], xs[1:]):
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


def _box_sum_cost(a: list[float]) -> int:
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
        from .priors import _via_numpy64
        return _via_numpy64(f, y)

    def sf(self, y):
        def f(y):
            w = self._w(y)
            g = self._lower(w)
            return np.where(w > 0, g, 1.0 - g)
        from .priors import _via_numpy64
        return _via_numpy64(f, y)

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

        y = _float_array(y)
        work = torch.promote_types(_torch_dtype(y), torch.float32)
        kernel = self._kernel(_device(y), work)
        if self.shift == 0.0 and self.h == 1.0:
            return _map_chunks(y, kernel, work)
        lo, hi, m, h, shift = self.prior.low, self.prior.high, self.prior.centre, self.h, self.shift

        def affine(v, out):
            w = (v - shift) * (1.0 / h)
            kernel(w, w)
            torch.clamp(w.mul_(h).add_(m), lo, hi, out=out)

        return _map_chunks(y, affine, work)


# ----------------------------------------------------------------------------------------------
class NumericalSumLaw(SumLaw):
    """Numerical law of a weighted sum for any i.i.d. prior: FFT convolution of lattice masses.

    Parameters
    ----------
    points : int
        Lattice points spanning the sum's range (default 2**18).
    tail : float
        Each term's lattice covers its quantiles ``tail`` .. ``1 - tail`` (or its
        bounded support); mass beyond is lumped on the end points.
    trust : float
        T is tabulated where both F_Y and 1 - F_Y exceed ``trust`` (FFT round-off
        is far below it) and continued linearly beyond.
    """

    def __init__(self, prior: Prior, coeffs, points: int = 1 << 18, tail: float = 1e-14, trust: float = 1e-10):
        super().__init__(prior, coeffs)
        cs = [c for c in coeffs if c != 0]
        zlo, zhi = prior.support
        qlo = zlo if math.isfinite(zlo) else float(prior._ppf(np.array(tail)))
        qhi = zhi if math.isfinite(zhi) else float(prior._isf(np.array(tail)))
        ranges = [sorted((c * qlo, c * qhi)) for c in cs]
        span = sum(r[1] - r[0] for r in ranges)
        h = span / points
        masses = None
        origin = 0.0
        median = prior.median
        for c, (lo, hi) in zip(cs, ranges):
            o = math.floor(lo / h) * h - h
            k = np.arange(int(math.ceil((hi - o) / h)) + 2)
            half = o + (k[:-1] + 0.5) * h  # boundaries between lattice points
            z = half / c  # the same boundaries in units of the prior
            lower = prior._cdf(z) if c > 0 else prior._sf(z)   # P(cZ <= half)
            upper = prior._sf(z) if c > 0 else prior._cdf(z)   # P(cZ > half)
            below = np.concatenate([[0.0], lower, [1.0]])
            above = np.concatenate([[1.0], upper, [0.0]])
            use_upper = np.concatenate([[False], (z > median) if c > 0 else (z < median), [True]])
            m = np.where(use_upper[1:], above[:-1] - above[1:], below[1:] - below[:-1])
            m = np.clip(m, 0.0, None)
            masses = m if masses is None else scipy.signal.fftconvolve(masses, m)
            masses = np.clip(masses, 0.0, None)
            origin += o
        masses /= masses.sum()
        self.h = h
        # F and S at the half-points between lattice points (each lattice mass spread over its cell)
        grid = origin + (np.arange(masses.size) + 0.5) * h
        F = np.cumsum(masses)
        S = np.concatenate([np.cumsum(masses[::-1])[::-1][1:], [0.0]])
        self._grid, self._F, self._S = grid, F, S
        ok = (F >= trust) & (S >= trust)
        ys = grid[ok]
        Fk, Sk = F[ok], S[ok]
        T = np.where(Fk <= 0.5, prior._ppf(Fk), prior._isf(Sk))
        T = np.maximum.accumulate(T)
        ylo = sum(r[0] for r in ranges) if math.isfinite(zlo) and math.isfinite(zhi) else -math.inf
        yhi = sum(r[1] for r in ranges) if math.isfinite(zlo) and math.isfinite(zhi) else math.inf
        # one-sided supports: a sum of positive multiples of a lower-bounded law is lower-bounded
        if all(c > 0 for c in cs) or all(c < 0 for c in cs):
            sgn = 1 if cs[0] > 0 else -1
            lo_b = sum(c * (zlo if sgn > 0 else zhi) for c in cs)
            hi_b = sum(c * (zhi if sgn > 0 else zlo) for c in cs)
            ylo, yhi = (lo_b if math.isfinite(lo_b) else ylo), (hi_b if math.isfinite(hi_b) else yhi)
        nodes_y, nodes_t = list(ys), list(T)
        j = min(len(ys) - 1, 64)
        if math.isfinite(ylo):
            nodes_y.insert(0, ylo)
            nodes_t.insert(0, zlo)
        else:  # linear continuation with the slope of the outer chord
            slope = (T[j] - T[0]) / (ys[j] - ys[0])
            far = ys[0] - 1e6 * span
            nodes_y.insert(0, far)
            nodes_t.insert(0, T[0] + slope * (far - ys[0]))
        if math.isfinite(yhi):
            nodes_y.append(yhi)
            nodes_t.append(zhi)
        else:
            slope = (T[-1] - T[-1 - j]) / (ys[-1] - ys[-1 - j])
            far = ys[-1] + 1e6 * span
            nodes_y.append(far)
            nodes_t.append(T[-1] + slope * (far - ys[-1]))
        self.support = (ylo, yhi)
        self._ny = np.array(nodes_y)
        self._nt = np.maximum.accumulate(np.array(nodes_t))
        self._torch_tables: dict = {}

    def cdf(self, y):
        from .priors import _via_numpy64

        return _via_numpy64(lambda v: np.interp(v, self._grid, self._F, left=0.0, right=1.0), y)

    def sf(self, y):
        from .priors import _via_numpy64

        return _via_numpy64(lambda v: np.interp(v, self._grid, self._S, left=1.0, right=0.0), y)

    def transport(self, y):
        import torch

        y = _float_array(y)
        device = _device(y)
        key = str(device)
        if key not in self._torch_tables:
            self._torch_tables[key] = (torch.as_tensor(self._ny, device=device, dtype=torch.float64),
                                       torch.as_tensor(self._nt, device=device, dtype=torch.float64))
        ny, nt = self._torch_tables[key]
        big = torch.finfo(_torch_dtype(y)).max
        lo, hi = self.support
        zlo, zhi = self.prior.support
        tlo, thi = max(zlo, -big), min(zhi, big)
        last = ny.numel() - 1

        def kernel(v, out):
            v = v.clamp(lo, hi)
            i = torch.bucketize(v, ny).clamp_(1, last)
            y0, y1, t0, t1 = ny[i - 1], ny[i], nt[i - 1], nt[i]
            torch.clamp(t0 + (v - y0) * ((t1 - t0) / (y1 - y0)), tlo, thi, out=out)

        return _map_chunks(y, kernel, torch.float64)


# ----------------------------------------------------------------------------------------------
class ScaleLaw(SumLaw):
    """One positive coefficient, y = c z: for any prior F_Y(y) = F_Z(y / c), so T(y) = y / c exactly."""

    def __init__(self, prior, coeffs):
        super().__init__(prior, coeffs)
        self.c = coeffs[0]

    def cdf(self, y):
        return self.prior.cdf(_float_array(y) / self.c)

    def sf(self, y):
        return self.prior.sf(_float_array(y) / self.c)

    def transport(self, y):
        y = _float_array(y)
        lo, hi = self.prior.support  # inputs outside the support of c z map to its ends, as F_Z^-1(F_Y) does
        if _is_torch(y):
            out = y.clone() if self.c == 1.0 else y * (1.0 / self.c)
            return out.clamp_(lo, hi) if math.isfinite(lo) or math.isfinite(hi) else out
        out = y.copy() if self.c == 1.0 else y * y.dtype.type(1.0 / self.c)
        return np.clip(out, lo, hi, out=out) if math.isfinite(lo) or math.isfinite(hi) else out


_CACHE: dict = {}


def sum_law(prior, coeffs) -> SumLaw:
    """The (cached) law of ``sum_i coeffs[i] * z_i`` with ``z_i`` i.i.d. from ``prior``.

    ``prior`` is a :class:`~otlatent.priors.Prior` or a name accepted by
    :func:`~otlatent.priors.get_prior`. Zero coefficients are dropped.
    """
    prior = get_prior(prior)
    c = check_coeffs(coeffs)
    c = tuple(x for x in c if x != 0)
    key = (prior, c)
    law = _CACHE.get(key)
    if law is None:
        if len(c) == 1 and c[0] > 0:
            law = ScaleLaw(prior, c)
        elif isinstance(prior, Gaussian):
            law = GaussianSumLaw(prior, c)
        elif isinstance(prior, Uniform) and _box_sum_cost([abs(x) for x in c]) <= UniformSumLaw.MAX_COST:
            law = UniformSumLaw(prior, c)
        else:
            law = NumericalSumLaw(prior, c)
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = law
    return law


# ----------------------------------------------------------------------------------------------
# divergences between a sum law and the prior
# ----------------------------------------------------------------------------------------------
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
    where the second has none (e.g. a uniform vicinity sample outside [-1, 1]).
    """
    prior = law.prior
    a, b = _law_range(law)
    zlo, zhi = prior.support
    lo = min(a, zlo if math.isfinite(zlo) else float(prior._ppf(np.array(1e-15))))
    hi = max(b, zhi if math.isfinite(zhi) else float(prior._isf(np.array(1e-15))))
    edges = np.linspace(lo, hi, bins + 1)
    # exact support edges as cell edges, so that no cell straddles one
    extra = [x for x in (a, b, zlo, zhi) if math.isfinite(x)]
    edges = np.unique(np.concatenate([[-np.inf], edges, extra, [np.inf]]))
    med = 0.0 if isinstance(prior, (Gaussian, Uniform)) and (prior.median == 0.0) else prior.median

    def F(v):
        return law.cdf(v)

    def S(v):
        return law.sf(v)

    p = _masses(F, S, edges, med)
    q = _masses(prior.cdf, prior.sf, edges, med)
    first, second = law, prior
    if reverse:
        p, q = q, p
        first, second = prior, law
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
    if isinstance(law_or_prior, GaussianSumLaw):
        return (-math.inf, math.inf)
    if isinstance(law_or_prior, ScaleLaw):
        lo, hi = law_or_prior.prior.support
        return (law_or_prior.c * lo, law_or_prior.c * hi)
    return _law_range(law_or_prior)


def kl_cells(prior, law: SumLaw | None = None, bins: int = 1000) -> np.ndarray:
    """Cell edges for :func:`kl_estimate`: ``bins`` cells of equal prior probability, or, with ``law``,
    half of them equiprobable under the prior and half evenly spaced over the law's central
    range (its 1e-7 .. 1 - 1e-7 quantiles), so that a law much wider or narrower than the prior is
    resolved too. The outer edges are the prior's support ends or +-inf."""
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
    x = np.asarray(samples.detach().cpu() if _is_torch(samples) else samples, dtype=np.float64).ravel()
    n = x.size
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
    var = float(np.sum(f[m] * logr ** 2) - plug ** 2)
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
