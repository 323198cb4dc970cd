r"""The paper's latent-space operations (its Table 1): linear and n-point interpolation, SLERP, vicinity
sampling, analogies and random walks, with the coefficient vectors that define their output's law.

Contract: NumPy arrays or torch tensors in, the same type, dtype and device out;
batched over leading dimensions, the latent dimension last. Scalars (``t``,
``eps``, weights) are plain numbers.

**Convention.** ``lerp(z1, z2, t)`` follows ``torch.lerp``: t = 0 gives z1,
t = 1 gives z2, y = (1 - t) z1 + t z2. The paper writes y = t z1 + (1 - t) z2,
so the paper's t is our 1 - t (the midpoint t = 1/2 is the same). ``slerp``
uses the same convention as ``lerp`` (and as White's ``plat``, whose ``val``
weights the second argument).

The intuitive operations are linear: y = \sum_i c_i z_i. For z_i i.i.d. from
the prior every component of y has the law F_Y of that weighted sum, not the
prior's. Each ``matched_*`` operation applies, component by component, the
monotone transport map

.. math:: \tilde y = T(y) = F_Z^{-1}(F_Y(y)),

which is the optimal map for any convex cost of the difference (Theorem 2;
Theorem 1 lets it act per component), so \tilde y has exactly the prior law.
All of them are in :mod:`otlatent.matching` and go through :func:`otlatent.matching.match`.

========================  =======================  ==========================================
operation                 coefficients c           matched, Gaussian prior
========================  =======================  ==========================================
lerp(z1, z2, t)           (1 - t, t)               y / sqrt((1-t)^2 + t^2)
n_point(zs, w)            w                        y / sqrt(sum w_i^2)
vicinity(z, u, eps)       (1, eps)                 y / sqrt(1 + eps^2)
analogy(z1, z2, z3)       (-1, 1, 1)               y / sqrt(3)
random walk step          (1, eps)                 y_i = (y_{i-1} + eps u_i) / sqrt(1 + eps^2)
========================  =======================  ==========================================

For the uniform prior the map is T(y) = 2 F_Y(y) - 1 (on [-1, 1]) with the exact
piecewise-polynomial F_Y; at the midpoint T(y) = y (2 - |y|).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .backend import as_float, is_torch, stack

__all__ = [
    "lerp",
    "slerp",
    "n_point",
    "vicinity",
    "analogy",
    "random_walk",
    "lerp_coeffs",
    "analogy_coeffs",
    "vicinity_coeffs",
    "check_t",
    "check_eps",
    "check_weights",
    "stack_latents",
    "combine",
    "walk_steps",
    "walk",
]

#: Tolerance on sum(weights) == 1.
WEIGHT_TOL = 1e-6


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------
def _latents(*named):
    """Check that the arguments are all NumPy or all torch, floating, with the same shape."""
    arrays = [as_float(a) for _, a in named]
    kinds = {is_torch(a) for a in arrays}
    if len(kinds) > 1:
        raise ValueError(
            "mix of NumPy arrays and torch tensors: pass " + ", ".join(n for n, _ in named) + " as the same type"
        )
    shapes = [tuple(a.shape) for a in arrays]
    if any(s != shapes[0] for s in shapes):
        raise ValueError("shape mismatch: " + ", ".join(f"{n}{tuple(s)}" for (n, _), s in zip(named, shapes)))
    if not shapes[0]:
        raise ValueError(f"{named[0][0]} must have at least one dimension (the latent dimension, last)")
    if is_torch(arrays[0]):
        dev = {a.device for a in arrays}
        if len(dev) > 1:
            raise ValueError(f"tensors on different devices: {sorted(map(str, dev))}")
        dt = {a.dtype for a in arrays}
        if len(dt) > 1:
            raise ValueError(f"tensors of different dtypes: {sorted(map(str, dt))}")
    else:
        dt = {a.dtype for a in arrays}
        if len(dt) > 1:
            raise ValueError(f"arrays of different dtypes: {sorted(map(str, dt))}")
    return arrays


def _scalar(x, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        if is_torch(x) and x.numel() == 1:
            x = x.item()
        elif isinstance(x, np.ndarray) and x.size == 1 and x.ndim == 0:
            x = x.item()
        else:
            raise ValueError(f"{name} must be a real scalar, got {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def check_t(t) -> float:
    t = _scalar(t, "t")
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must lie in [0, 1] for an interpolation, got {t}")
    return t


def check_eps(eps) -> float:
    eps = _scalar(eps, "eps")
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return eps


def check_weights(weights, k: int) -> tuple[float, ...]:
    w = np.asarray(weights.detach().cpu() if is_torch(weights) else weights, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"weights must be a 1-D sequence, got shape {w.shape}")
    if w.size != k:
        raise ValueError(f"shape mismatch: {w.size} weights for {k} latents (zs is stacked on its first axis)")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite, got {w}")
    if np.any(w < 0):
        raise ValueError(
            f"weights must be non-negative for an interpolation, got {w} "
            "(use otlatent.matching.match() for general linear combinations)"
        )
    if abs(w.sum() - 1.0) > WEIGHT_TOL:
        raise ValueError(f"weights must sum to 1, got sum {w.sum():.8g}")
    return tuple(float(x) for x in w)


def stack_latents(zs):
    if isinstance(zs, (list, tuple)):
        if not zs:
            raise ValueError("zs is empty")
        return stack(_latents(*[(f"zs[{i}]", z) for i, z in enumerate(zs)]))
    zs = as_float(zs)
    if zs.ndim < 2:
        raise ValueError(f"zs must be stacked on its first axis: shape (k, ..., d), got {tuple(zs.shape)}")
    return zs


def combine(coeffs, arrays):
    """sum_i coeffs[i] * arrays[i] in the arrays' dtype."""
    if is_torch(arrays[0]):
        out = arrays[0] * coeffs[0]
        for c, a in zip(coeffs[1:], arrays[1:]):
            out.add_(a, alpha=c)
        return out
    dt = arrays[0].dtype.type
    out = arrays[0] * dt(coeffs[0])
    for c, a in zip(coeffs[1:], arrays[1:]):
        out += dt(c) * a
    return out


# ----------------------------------------------------------------------------------------------
# the intuitive (linear) operations
# ----------------------------------------------------------------------------------------------
def lerp_coeffs(t: float) -> tuple[float, float]:
    """Coefficients (of z1, z2) of ``lerp(z1, z2, t)``: (1 - t, t)."""
    t = check_t(t)
    return (1.0 - t, t)


def lerp(z1, z2, t):
    """Linear interpolation y = (1 - t) z1 + t z2 (t = 0 gives z1, t = 1 gives z2, like ``torch.lerp``).

    The paper writes y = t z1 + (1 - t) z2: its t is our 1 - t.

    Raises
    ------
    ValueError
        If t is outside [0, 1] or the shapes differ.
    """
    z1, z2 = _latents(("z1", z1), ("z2", z2))
    t = check_t(t)
    if is_torch(z1):
        import torch

        return torch.lerp(z1, z2, t)
    dt = z1.dtype.type
    return dt(1.0 - t) * z1 + dt(t) * z2


def slerp(z1, z2, t):
    r"""Spherical linear interpolation (White 2016), row-wise over the last axis.

    With \Omega the angle between z1 and z2,
    y = sin((1 - t)\Omega)/sin\Omega z1 + sin(t\Omega)/sin\Omega z2: t = 0 gives z1,
    t = 1 gives z2 (our ``lerp`` convention; White's ``val`` also weights the
    second argument; the paper's t weights z1). The cosine is clipped to [-1, 1];
    when sin\Omega is about 0 (parallel or antipodal vectors, or a zero vector) the
    result is the linear interpolation. SLERP is a baseline, not a matched operation.
    """
    z1, z2 = _latents(("z1", z1), ("z2", z2))
    t = check_t(t)
    if is_torch(z1):
        import torch as xp

        eps = xp.finfo(z1.dtype).eps
        n1 = xp.linalg.vector_norm(z1, dim=-1, keepdim=True)
        n2 = xp.linalg.vector_norm(z2, dim=-1, keepdim=True)
        dot = (z1 * z2).sum(-1, keepdim=True)
        cos = xp.nan_to_num(dot / (n1 * n2), nan=1.0, posinf=1.0, neginf=1.0).clamp(-1.0, 1.0)
    else:
        xp = np
        eps = np.finfo(z1.dtype).eps
        n1 = np.linalg.norm(z1, axis=-1, keepdims=True)
        n2 = np.linalg.norm(z2, axis=-1, keepdims=True)
        dot = (z1 * z2).sum(-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.clip(np.nan_to_num(dot / (n1 * n2), nan=1.0, posinf=1.0, neginf=1.0), -1.0, 1.0)
    omega = xp.arccos(cos)
    so = xp.sin(omega)
    small = so < 10 * math.sqrt(eps)
    safe = xp.where(small, xp.ones_like(so), so)
    a = xp.where(small, xp.full_like(so, 1.0 - t), xp.sin((1.0 - t) * omega) / safe)
    b = xp.where(small, xp.full_like(so, t), xp.sin(t * omega) / safe)
    return a * z1 + b * z2


def n_point(zs, weights):
    """n-point interpolation y = sum_i w_i z_i, with ``zs`` stacked on the first axis (shape (k, ..., d)).

    ``weights`` are k non-negative numbers summing to 1 (a 2 x 2 bilinear grid's centre
    is ``[0.25] * 4``). For general linear combinations use :func:`otlatent.matching.match` directly.
    """
    zs = stack_latents(zs)
    w = check_weights(weights, zs.shape[0])
    return combine(w, list(zs))


def vicinity_coeffs(eps: float) -> tuple[float, float]:
    return (1.0, check_eps(eps))


def vicinity(z, u, eps):
    """Vicinity sampling y = z + eps u.

    ``u`` is a draw from the prior (the paper leaves its law open; matching
    assumes the prior), with the shape of ``z`` or with extra leading axes
    (k samples around each z). ``eps >= 0``.
    """
    z, u = as_float(z), as_float(u)
    eps = check_eps(eps)
    if is_torch(z) != is_torch(u):
        raise ValueError("mix of NumPy arrays and torch tensors: pass z and u as the same type")
    zs, us = tuple(z.shape), tuple(u.shape)
    if not zs or len(us) < len(zs) or us[len(us) - len(zs) :] != zs:
        raise ValueError(f"shape mismatch: u{us} must have z's shape {zs}, optionally with extra leading axes")
    if z.dtype != u.dtype:
        raise ValueError(f"z and u have different dtypes: {z.dtype}, {u.dtype}")
    if is_torch(z):
        return z + eps * u
    return z + z.dtype.type(eps) * u


analogy_coeffs = (-1.0, 1.0, 1.0)


def analogy(z1, z2, z3):
    """Analogy y = z3 + (z2 - z1): "z1 is to z2 as z3 is to y"."""
    z1, z2, z3 = _latents(("z1", z1), ("z2", z2), ("z3", z3))
    return z3 + (z2 - z1)


def walk_steps(z0, steps):
    z0, st = as_float(z0), as_float(steps)
    if is_torch(z0) != is_torch(st):
        raise ValueError("mix of NumPy arrays and torch tensors: pass z0 and steps as the same type")
    if tuple(st.shape[1:]) != tuple(z0.shape) or st.ndim < 2:
        raise ValueError(
            f"shape mismatch: steps must have shape (n_steps, *z0.shape) = (n, {tuple(z0.shape)}), "
            f"got {tuple(st.shape)}"
        )
    if z0.dtype != st.dtype:
        raise ValueError(f"z0 and steps have different dtypes: {z0.dtype}, {st.dtype}")
    return z0, st


def random_walk(z0, steps, eps):
    """Random walk y_0 = z0, y_i = y_{i-1} + eps u_i (repeated vicinity sampling).

    ``steps`` holds the u_i (draws from the prior) stacked on the first axis:
    shape (n_steps, *z0.shape). Returns the path, shape (n_steps + 1, *z0.shape).
    """
    return walk(z0, steps, eps, lambda y: y)


def walk(z0, steps, eps, step_map):
    """The path y_0 = z0, y_i = step_map(y_{i-1} + eps u_i) over the steps u_i (``steps``' first axis)."""
    z0, st = walk_steps(z0, steps)
    eps = check_eps(eps)
    path = [z0]
    for u in st:
        path.append(step_map(vicinity(path[-1], u, eps)))
    return stack(path)
