"""Latent priors with i.i.d. components: sampling, CDF and quantile function.

Every prior has the same small interface, used by :mod:`otlatent.matching` to build
the distribution-matched operations:

``sample(n, d, seed=None)``
    ``n`` latent vectors of dimension ``d`` (a NumPy array, or a torch tensor
    when ``device=`` is given).
``cdf(x)``, ``sf(x)``, ``ppf(u)``, ``isf(p)``, ``pdf(x)``
    Component-wise, on NumPy arrays or torch tensors; the result has the type,
    dtype and device of the input.

Three families:

- :class:`Gaussian` -- the standard normal N(0, 1) per component;
- :class:`Uniform` -- U[low, high] per component (the GAN default is [-1, 1]);
- :class:`Iid` -- any continuous ``scipy.stats`` distribution, e.g.
  ``Iid(scipy.stats.laplace())``.

:func:`get_prior` turns a name (``"gaussian"``, ``"uniform"``) into one of them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special
import scipy.stats

from .backend import as_float, is_torch, via_numpy64

__all__ = ["Prior", "Gaussian", "Uniform", "Iid", "get_prior", "PRIOR_NAMES"]


def _generator(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _check_size(n: int, d: int) -> tuple[int, int]:
    if int(n) != n or int(d) != d or n < 0 or d < 1:
        raise ValueError(f"sample size must be n >= 0 and d >= 1 integers, got n={n!r}, d={d!r}")
    return int(n), int(d)


# ----------------------------------------------------------------------------------------------
# priors
# ----------------------------------------------------------------------------------------------
class Prior:
    """Base class: an i.i.d. prior over R^d given by one continuous 1-D law per component.

    Subclasses implement the 1-D functions on float64 NumPy arrays (``_cdf``, ``_sf``,
    ``_ppf``, ``_isf``, ``_pdf``) and may override the torch paths for speed.
    """

    name: str = "prior"

    # -- 1-D law on float64 numpy arrays -------------------------------------------------------
    def _cdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _sf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _ppf(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _isf(self, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _pdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- public, type-preserving --------------------------------------------------------------
    def cdf(self, x):
        """P(Z <= x) component-wise."""
        return via_numpy64(self._cdf, x)

    def sf(self, x):
        """P(Z > x) component-wise (accurate in the upper tail, where ``1 - cdf`` rounds to 0)."""
        return via_numpy64(self._sf, x)

    def ppf(self, u):
        """The quantile function F_Z^-1(u) component-wise."""
        return via_numpy64(self._ppf, u)

    def isf(self, p):
        """The inverse survival function: the x with P(Z > x) = p (accurate for small p)."""
        return via_numpy64(self._isf, p)

    def pdf(self, x):
        """The density component-wise."""
        return via_numpy64(self._pdf, x)

    @property
    def support(self) -> tuple[float, float]:
        """The support (lower, upper) of one component (``-inf``/``inf`` when unbounded)."""
        raise NotImplementedError

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def var(self) -> float:
        """The variance of one component."""
        raise NotImplementedError

    @property
    def median(self) -> float:
        return float(self._ppf(np.array(0.5)))

    def sample(self, n: int, d: int, seed=None, *, dtype=None, device=None):
        """Draw ``n`` latents of dimension ``d``: shape ``(n, d)``.

        Parameters
        ----------
        seed : int, numpy Generator or None
            Fixes the draw.
        dtype, device :
            Without ``device`` a NumPy array (default float64) is returned; with
            ``device`` (e.g. ``"cpu"``, ``"cuda"``) a torch tensor (default float32).
        """
        n, d = _check_size(n, d)
        if device is None:
            dtype = np.dtype(dtype or np.float64)
            if not np.issubdtype(dtype, np.floating):
                raise ValueError(f"dtype must be a floating-point type (latents are real), got {dtype}")
            return self._sample_numpy(n, d, _generator(seed), dtype)
        import torch

        dtype = dtype or torch.float32
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"dtype must be a floating-point torch dtype (latents are real), got {dtype}")
        kind = str(device).split(":")[0]
        if kind == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} is not available here (no CUDA); use device='cpu'")
        if kind == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"device {device!r} is not available here (no MPS); use device='cpu'")
        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(2**62))
        gen = torch.Generator(device=device)
        gen.manual_seed(int(seed) if seed is not None else int(np.random.default_rng().integers(2**62)))
        return self._sample_torch(n, d, gen, dtype, device)

    def _sample_numpy(self, n, d, rng, dtype):
        return self._ppf(rng.random((n, d))).astype(dtype)

    def _sample_torch(self, n, d, gen, dtype, device):
        import torch

        rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=gen, device=device).item()))
        return torch.from_numpy(self._sample_numpy(n, d, rng, np.float64)).to(device=device, dtype=dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Gaussian(Prior):
    """The standard normal prior N(0, I): components i.i.d. N(0, 1)."""

    name = "gaussian"

    def _cdf(self, x):
        return scipy.special.ndtr(x)

    def _sf(self, x):
        return scipy.special.ndtr(-x)

    def _ppf(self, u):
        return scipy.special.ndtri(u)

    def _isf(self, p):
        return -scipy.special.ndtri(p)

    def _pdf(self, x):
        return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    def cdf(self, x):
        x = as_float(x)
        if is_torch(x):
            import torch

            return torch.special.ndtr(x)
        return super().cdf(x)

    def ppf(self, u):
        u = as_float(u)
        if is_torch(u):
            import torch

            return torch.special.ndtri(u)
        return super().ppf(u)

    support = (-math.inf, math.inf)
    mean = 0.0
    var = 1.0
    median = 0.0

    def _sample_numpy(self, n, d, rng, dtype):
        dt = dtype if dtype in (np.float32, np.float64) else np.float64
        return rng.standard_normal((n, d), dtype=dt).astype(dtype, copy=False)

    def _sample_torch(self, n, d, gen, dtype, device):
        import torch

        return torch.randn(n, d, generator=gen, dtype=dtype, device=device)

    def __eq__(self, other):
        return type(other) is Gaussian

    def __hash__(self):
        return hash("gaussian")


class Uniform(Prior):
    """The uniform prior U[low, high]^d (default [-1, 1], the DCGAN convention)."""

    name = "uniform"

    def __init__(self, low: float = -1.0, high: float = 1.0):
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"Uniform needs finite low < high, got low={low}, high={high}")
        self.low, self.high = low, high

    @property
    def centre(self) -> float:
        return 0.5 * (self.low + self.high)

    @property
    def half_width(self) -> float:
        return 0.5 * (self.high - self.low)

    def _cdf(self, x):
        return np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)

    def _sf(self, x):
        return np.clip((self.high - x) / (self.high - self.low), 0.0, 1.0)

    def _ppf(self, u):
        return np.where((u >= 0) & (u <= 1), self.low + u * (self.high - self.low), np.nan)

    def _isf(self, p):
        return np.where((p >= 0) & (p <= 1), self.high - p * (self.high - self.low), np.nan)

    def _pdf(self, x):
        return np.where((x >= self.low) & (x <= self.high), 1.0 / (self.high - self.low), 0.0)

    def cdf(self, x):
        x = as_float(x)
        if is_torch(x):
            return ((x - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
        return super().cdf(x)

    def ppf(self, u):
        u = as_float(u)
        if is_torch(u):
            import torch

            out = self.low + u * (self.high - self.low)
            return torch.where((u >= 0) & (u <= 1), out, torch.full_like(out, math.nan))
        return super().ppf(u)

    @property
    def support(self):
        return (self.low, self.high)

    @property
    def mean(self):
        return self.centre

    @property
    def var(self):
        return (self.high - self.low) ** 2 / 12.0

    @property
    def median(self):
        return self.centre

    def _sample_numpy(self, n, d, rng, dtype):
        dt = dtype if dtype in (np.float32, np.float64) else np.float64
        u = rng.random((n, d), dtype=dt)
        return (self.low + (self.high - self.low) * u).astype(dtype, copy=False)

    def _sample_torch(self, n, d, gen, dtype, device):
        import torch

        u = torch.rand(n, d, generator=gen, dtype=dtype, device=device)
        return u.mul_(self.high - self.low).add_(self.low)

    def __eq__(self, other):
        return type(other) is Uniform and (other.low, other.high) == (self.low, self.high)

    def __hash__(self):
        return hash(("uniform", self.low, self.high))

    def __repr__(self):
        return f"Uniform(low={self.low:g}, high={self.high:g})"


class Iid(Prior):
    """A prior whose components are i.i.d. draws of any continuous ``scipy.stats`` distribution.

    >>> import scipy.stats
    >>> prior = Iid(scipy.stats.laplace(scale=1 / 2**0.5))   # unit variance Laplace

    The matched operations use a numerical CDF of weighted sums for these priors
    (see :mod:`otlatent.matching.laws`), a closed form for Cauchy priors; priors with tails so heavy that the
    numerical law cannot resolve them (Student t with df below about 2.5) are refused there with a ``ValueError``.
    """

    def __init__(self, dist: Any, name: str | None = None):
        if isinstance(dist, scipy.stats.rv_continuous):
            dist = dist()
        if not isinstance(getattr(dist, "dist", None), scipy.stats.rv_continuous):
            raise ValueError(
                f"Iid needs a frozen continuous scipy.stats distribution (e.g. scipy.stats.laplace()), got {dist!r}"
            )
        var = float(dist.var())
        if not math.isfinite(float(dist.ppf(0.75)) - float(dist.ppf(0.25))):
            raise ValueError(f"{dist.dist.name}: quantiles are not finite")
        self.dist = dist
        self._var = var
        args = ", ".join([*(f"{a:g}" for a in dist.args), *(f"{k}={v:g}" for k, v in dist.kwds.items())])
        self.name = name or f"{dist.dist.name}({args})"

    def _cdf(self, x):
        return self.dist.cdf(x)

    def _sf(self, x):
        return self.dist.sf(x)

    def _ppf(self, u):
        return self.dist.ppf(u)

    def _isf(self, p):
        return self.dist.isf(p)

    def _pdf(self, x):
        return self.dist.pdf(x)

    @property
    def support(self):
        lo, hi = self.dist.support()
        return (float(lo), float(hi))

    @property
    def mean(self):
        return float(self.dist.mean())

    @property
    def var(self):
        return self._var

    def _sample_numpy(self, n, d, rng, dtype):
        return np.asarray(self.dist.rvs(size=(n, d), random_state=rng), dtype=dtype)

    def __eq__(self, other):
        return other is self

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"Iid({self.name})"


#: Names accepted by :func:`get_prior` (and by the GAN notebooks' ``prior=`` parameter).
PRIOR_NAMES = ("gaussian", "uniform")
_ALIASES = {"gaussian": "gaussian", "normal": "gaussian", "uniform": "uniform"}


def get_prior(prior) -> Prior:
    """Return a :class:`Prior` for ``prior``.

    ``prior`` may be a :class:`Prior` (returned as is), a name -- ``"gaussian"``
    (alias ``"normal"``) for :class:`Gaussian`, ``"uniform"`` for ``Uniform(-1, 1)``
    -- or a frozen continuous ``scipy.stats`` distribution (wrapped in :class:`Iid`).
    Anything else raises ``ValueError`` listing the valid names.
    """
    if isinstance(prior, Prior):
        return prior
    if isinstance(prior, str):
        key = _ALIASES.get(prior.strip().lower())
        if key == "gaussian":
            return Gaussian()
        if key == "uniform":
            return Uniform()
    elif isinstance(getattr(prior, "dist", None), scipy.stats.rv_continuous):
        return Iid(prior)
    raise ValueError(
        f"unknown prior {prior!r}: valid priors are {', '.join(map(repr, PRIOR_NAMES))}, "
        "a Prior instance or a frozen continuous scipy.stats distribution"
    )
