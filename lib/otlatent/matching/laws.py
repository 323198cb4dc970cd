r"""The law F_Y of a weighted sum y = sum_i c_i z_i of i.i.d. prior components, one class per case.

Every law has ``cdf(y)``, ``sf(y)`` (1 - F_Y, accurate in the upper tail) and ``transport(y)``, the
monotone map T(y) = F_Z^{-1}(F_Y(y)) onto the prior (:func:`otlatent.transport1d.monotone_map`; the classes
here evaluate it in closed form or from a table, component-wise, on NumPy arrays or torch tensors):

:class:`GaussianSumLaw` (``Gaussian``)
    Y ~ N(0, sum c_i^2): T is the rescaling y / sqrt(sum c_i^2). Exact.
:class:`ScaleLaw` (one positive coefficient, any prior)
    F_Y(y) = F_Z(y / c): T(y) = y / c. Exact.
:class:`~otlatent.matching.uniform.UniformSumLaw` (``Uniform``)
    The exact piecewise polynomial (its own module).
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

import numpy as np
import scipy.signal

from ..backend import as_float, device_of, is_torch, torch_dtype, via_numpy64
from ..priors import Prior
from ..transport1d import monotone_map

__all__ = [
    "SumLaw",
    "GaussianSumLaw",
    "ScaleLaw",
    "CauchySumLaw",
    "NumericalSumLaw",
    "check_coeffs",
    "map_chunks",
    "MAX_RELATIVE_STEP",
]

#: The coarsest lattice :class:`NumericalSumLaw` accepts: its step over the interquartile range of the sum.
#: Heavy tails (Student t with df < ~5, Pareto(3), ...) stretch the lattice between the 1e-14 quantiles too far;
#: the lattice is then spread between less extreme quantiles (:data:`HEAVY_TAIL_LEVELS`), and a prior whose tails
#: are too heavy even then (t(1.5)) is refused (Cauchy priors have the closed form :class:`CauchySumLaw`).
MAX_RELATIVE_STEP = 0.02
#: The further (tail, trust) levels tried when the first lattice is too coarse for the prior's tails.
HEAVY_TAIL_LEVELS = ((1e-10, 1e-7), (1e-8, 1e-6))

#: Elements per chunk for CPU evaluation (keeps temporaries in cache).
CPU_CHUNK = 1 << 15
#: Elements per chunk on accelerators.
DEVICE_CHUNK = 1 << 24
#: Piece counts up to STEP_MAX + 1 select coefficients by step functions rather than a gather.
STEP_MAX = 4


def map_chunks(y, kernel, work_dtype):
    """Apply ``kernel(v, out)`` over ``y`` (NumPy or torch) in chunks; same type, dtype, device and shape out.

    On the CPU the chunks hold at most torch's grain size (32768 elements), so every
    op runs single-threaded inside the cache, and ``torch.get_num_threads()``
    Python threads share the chunks (torch releases the GIL inside ops). This avoids
    OpenMP fork/join per small op, which is slow -- and very slow on a busy machine.
    """
    import torch

    is_np = not is_torch(y)
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
        """The monotone map T(y) = F_Z^-1(F_Y(y)) onto the prior, component-wise.

        This generic form evaluates :func:`otlatent.transport1d.monotone_map` (F_Z^-1 below the median,
        the inverse survival function above it); subclasses replace it by a closed form or a table of it.
        """
        return via_numpy64(lambda v: monotone_map(v, self, self.prior), y)

    def __repr__(self):
        return f"{type(self).__name__}({self.prior!r}, coeffs={self.coeffs})"


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
        median = prior.median
        # heavier tails: a lattice between less extreme quantiles (and T tabulated on a narrower range, continued
        # linearly beyond), until the lattice resolves the body of the sum; light tails keep the first level
        levels = [(tail, trust)] + [(t, r) for t, r in HEAVY_TAIL_LEVELS if t > tail]
        for tail, trust in levels:  # noqa: B007 - the level reached is used after the loop
            qlo = zlo if math.isfinite(zlo) else float(prior._ppf(np.array(tail)))
            qhi = zhi if math.isfinite(zhi) else float(prior._isf(np.array(tail)))
            ranges = [sorted((c * qlo, c * qhi)) for c in cs]
            span = sum(r[1] - r[0] for r in ranges)
            h = span / points
            masses = None
            origin = 0.0
            for c, (lo, hi) in zip(cs, ranges):
                o = math.floor(lo / h) * h - h
                k = np.arange(int(math.ceil((hi - o) / h)) + 2)
                half = o + (k[:-1] + 0.5) * h  # boundaries between lattice points
                z = half / c  # the same boundaries in units of the prior
                lower = prior._cdf(z) if c > 0 else prior._sf(z)  # P(cZ <= half)
                upper = prior._sf(z) if c > 0 else prior._cdf(z)  # P(cZ > half)
                below = np.concatenate([[0.0], lower, [1.0]])
                above = np.concatenate([[1.0], upper, [0.0]])
                use_upper = np.concatenate([[False], (z > median) if c > 0 else (z < median), [True]])
                m = np.where(use_upper[1:], above[:-1] - above[1:], below[1:] - below[:-1])
                m = np.clip(m, 0.0, None)
                masses = m if masses is None else scipy.signal.fftconvolve(masses, m)
                masses = np.clip(masses, 0.0, None)
                origin += o
            masses /= masses.sum()
            # F and S at the half-points between lattice points (each lattice mass spread over its cell)
            grid = origin + (np.arange(masses.size) + 0.5) * h
            F = np.cumsum(masses)
            q1, q3 = np.interp([0.25, 0.75], F, grid)
            if h <= MAX_RELATIVE_STEP * (q3 - q1):
                break
        else:
            raise ValueError(
                f"prior {prior.name}: its tails are too heavy for the numerical law of sum_i c_i z_i "
                f"(coefficients {tuple(coeffs)}): even between the prior's {tail:g} quantiles "
                f"({qlo:.3g} .. {qhi:.3g}) the lattice step {h:.3g} is {h / (q3 - q1):.3g} of the sum's "
                f"interquartile range (limit MAX_RELATIVE_STEP = {MAX_RELATIVE_STEP}), so the matched map would "
                "be wrong. Use a prior with lighter tails (e.g. Student t with df >= 2.5, Laplace, a Gaussian), "
                "or a Cauchy prior (exact closed form)"
            )
        self.h, self.tail, self.trust = h, tail, trust
        S = np.concatenate([np.cumsum(masses[::-1])[::-1][1:], [0.0]])
        self._grid, self._F, self._S = grid, F, S
        ok = (F >= trust) & (S >= trust)
        ys = grid[ok]
        T = monotone_map(ys, self, prior)  # at the lattice's half-points F_Y and 1 - F_Y are F and S exactly
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
        return via_numpy64(lambda v: np.interp(v, self._grid, self._F, left=0.0, right=1.0), y)

    def sf(self, y):
        return via_numpy64(lambda v: np.interp(v, self._grid, self._S, left=1.0, right=0.0), y)

    def transport(self, y):
        import torch

        y = as_float(y)
        device = device_of(y)
        key = str(device)
        if key not in self._torch_tables:
            self._torch_tables[key] = (
                torch.as_tensor(self._ny, device=device, dtype=torch.float64),
                torch.as_tensor(self._nt, device=device, dtype=torch.float64),
            )
        ny, nt = self._torch_tables[key]
        big = torch.finfo(torch_dtype(y)).max
        lo, hi = self.support
        zlo, zhi = self.prior.support
        tlo, thi = max(zlo, -big), min(zhi, big)
        last = ny.numel() - 1

        def kernel(v, out):
            v = v.clamp(lo, hi)
            i = torch.bucketize(v, ny).clamp_(1, last)
            y0, y1, t0, t1 = ny[i - 1], ny[i], nt[i - 1], nt[i]
            torch.clamp(t0 + (v - y0) * ((t1 - t0) / (y1 - y0)), tlo, thi, out=out)

        return map_chunks(y, kernel, torch.float64)


# ----------------------------------------------------------------------------------------------
class ScaleLaw(SumLaw):
    """One positive coefficient, y = c z: for any prior F_Y(y) = F_Z(y / c), so T(y) = y / c exactly."""

    def __init__(self, prior, coeffs):
        super().__init__(prior, coeffs)
        self.c = coeffs[0]

    def cdf(self, y):
        return self.prior.cdf(as_float(y) / self.c)

    def sf(self, y):
        return self.prior.sf(as_float(y) / self.c)

    def transport(self, y):
        y = as_float(y)
        lo, hi = self.prior.support  # inputs outside the support of c z map to its ends, as F_Z^-1(F_Y) does
        if is_torch(y):
            out = y.clone() if self.c == 1.0 else y * (1.0 / self.c)
            return out.clamp_(lo, hi) if math.isfinite(lo) or math.isfinite(hi) else out
        out = y.copy() if self.c == 1.0 else y * y.dtype.type(1.0 / self.c)
        return np.clip(out, lo, hi, out=out) if math.isfinite(lo) or math.isfinite(hi) else out


class GaussianSumLaw(ScaleLaw):
    """Y ~ N(0, sum c_i^2): a Gaussian is stable, so Y is the prior scaled by sqrt(sum c_i^2) and the map is one
    rescaling (a :class:`ScaleLaw`).
    """

    def __init__(self, prior, coeffs):
        SumLaw.__init__(self, prior, coeffs)
        self.scale = self.c = math.sqrt(math.fsum(c * c for c in coeffs))


class CauchySumLaw(SumLaw):
    """A Cauchy prior (location m, scale s) is stable: y = sum c_i z_i ~ Cauchy(m sum c_i, s sum |c_i|), so
    T(y) = m + (y - m sum c_i) / sum |c_i| exactly.
    """

    def __init__(self, prior, coeffs):
        super().__init__(prior, coeffs)
        self.loc = float(prior.median)
        self.shift = self.loc * math.fsum(coeffs)
        self.scale = math.fsum(abs(c) for c in coeffs)

    def _standard(self, y):
        return (as_float(y) - self.shift) * (1.0 / self.scale) + self.loc

    def cdf(self, y):
        return self.prior.cdf(self._standard(y))

    def sf(self, y):
        return self.prior.sf(self._standard(y))

    def transport(self, y):
        return self._standard(y)


def is_cauchy(prior) -> bool:
    """Whether ``prior`` is an :class:`~otlatent.priors.Iid` prior of ``scipy.stats.cauchy``."""
    dist = getattr(prior, "dist", None)
    return getattr(getattr(dist, "dist", None), "name", None) == "cauchy"
