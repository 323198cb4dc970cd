"""The paper's latent explorations, each in its three variants: linear (intuitive), SLERP and matched.

Every function returns a dict ``{method: latents}`` with ``method`` in
:data:`METHODS` (SLERP only where it is defined), so a notebook can decode and
draw all variants of an operation in one loop.  Latents are torch tensors of
shape (..., d).  The operations live in :mod:`otlatent.operations`, their
matched versions in :mod:`otlatent.matching`.
"""

from __future__ import annotations

import numpy as np
import torch

from . import matching
from . import operations as ops
from .data import to_uint8
from .priors import get_prior

__all__ = [
    "METHODS",
    "decoder_of",
    "draw",
    "interpolation_path",
    "interpolate_at",
    "grid_4point",
    "grid_at",
    "bilinear_weights",
    "midpoints",
    "midpoint_sets",
    "MIDPOINT_SETS",
    "table2_latents",
    "table2_values",
    "walks",
    "vicinity_samples",
    "analogies",
    "norms",
]

METHODS = ("linear", "slerp", "matched")


def interpolation_path(z1: torch.Tensor, z2: torch.Tensor, steps: int, prior) -> dict[str, torch.Tensor]:
    """2-point interpolation from ``z1`` (t = 0) to ``z2`` (t = 1) at ``steps`` evenly spaced t; each (steps, d)."""
    prior = get_prior(prior)
    points = [interpolate_at(z1, z2, t, prior) for t in np.linspace(0.0, 1.0, steps)]
    return {m: torch.stack([p[m] for p in points]) for m in METHODS}


def interpolate_at(z1: torch.Tensor, z2: torch.Tensor, t: float, prior) -> dict[str, torch.Tensor]:
    """The linear, SLERP and matched latents at weight ``t`` between ``z1`` (t = 0) and ``z2`` (t = 1)."""
    prior = get_prior(prior)
    return {
        "linear": ops.lerp(z1, z2, t),
        "slerp": ops.slerp(z1, z2, t),
        "matched": matching.matched_lerp(z1, z2, t, prior),
    }


def bilinear_weights(a: float, b: float) -> tuple[float, float, float, float]:
    """Weights of the four corners (top-left, top-right, bottom-left, bottom-right) at position (a, b) in [0, 1]^2."""
    return ((1 - a) * (1 - b), a * (1 - b), (1 - a) * b, a * b)


def grid_4point(corners: torch.Tensor, n: int, prior) -> dict[str, torch.Tensor]:
    """An n x n grid spanned by four corner latents (4, d), row by row; each variant (n * n, d).

    Linear and matched use the bilinear weights of :func:`bilinear_weights` (4-point
    interpolation); SLERP interpolates along the top and bottom edges, then between
    them (White's grids).
    """
    prior = get_prior(prior)
    if corners.ndim != 2 or corners.shape[0] != 4:
        raise ValueError(f"corners must have shape (4, d), got {tuple(corners.shape)}")
    points = [grid_at(corners, a, b, prior) for b in np.linspace(0.0, 1.0, n) for a in np.linspace(0.0, 1.0, n)]
    return {m: torch.stack([p[m] for p in points]) for m in METHODS}


def grid_at(corners: torch.Tensor, a: float, b: float, prior) -> dict[str, torch.Tensor]:
    """The linear, SLERP and matched latents at position ``(a, b)`` of the grid on four corners (4, d): linear and
    matched with the :func:`bilinear_weights`, SLERP along the top and bottom edges, then between them.
    """
    prior = get_prior(prior)
    w = bilinear_weights(a, b)
    top, bottom = ops.slerp(corners[0], corners[1], a), ops.slerp(corners[2], corners[3], a)
    return {
        "linear": ops.n_point(corners, w),
        "slerp": ops.slerp(top, bottom, b),
        "matched": matching.matched_n_point(corners, w, prior),
    }


def midpoints(zs: torch.Tensor, prior, centre: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    r"""Midpoints of k latents per example, ``zs`` of shape (k, N, d): equal weights 1/k; each (N, d).

    k = 2 is the 2-point midpoint (with its SLERP counterpart), k = 4 the centre of a
    4-point grid (no SLERP variant is defined for it). With ``centre`` :math:`m` (d,), also ``"centred matched"``:
    the matched map applied about :math:`m`, :math:`m + T(\bar y - m)` with :math:`\bar y` the linear midpoint
    (notebook 07: for encodings that share an average code :math:`m \neq 0`).
    """
    prior = get_prior(prior)
    k = zs.shape[0]
    w = [1.0 / k] * k
    out = {"linear": ops.n_point(zs, w), "matched": matching.matched_n_point(zs, w, prior)}
    if k == 2:
        out["slerp"] = ops.slerp(zs[0], zs[1], 0.5)
    out = {m: out[m] for m in METHODS if m in out}
    if centre is not None:
        out["centred matched"] = centre + matching.matched_n_point(zs - centre, w, prior)
    return out


MIDPOINT_SETS = ("2-point linear", "2-point slerp", "2-point matched", "4-point linear", "4-point matched")


def decoder_of(run):
    """The map from latents to images in [-1, 1] of a trained run: a GAN's ``generate``, an auto-encoder's
    ``decode``.
    """
    return run.generate if hasattr(run, "generate") else run.decode


def draw(prior, n: int, d: int, seed: int, offset: int) -> torch.Tensor:
    """``n`` latents of dimension ``d`` from ``prior`` (CPU float32), seeded by ``seed * 1000 + offset``: one
    notebook seed gives each use (``offset``) its own independent draw.
    """
    return get_prior(prior).sample(n, d, seed=seed * 1000 + offset, device="cpu")


def midpoint_sets(pairs: torch.Tensor, quads: torch.Tensor, prior, random=None) -> dict[str, torch.Tensor]:
    """The latent sets of the paper's Table 2: :data:`MIDPOINT_SETS` from the 2-point midpoints of ``pairs``
    (2, n, d) and the 4-point centres of ``quads`` (4, m, d), after ``"random samples"`` when ``random`` is given.
    """
    two, four = midpoints(pairs, prior), midpoints(quads, prior)
    out = {} if random is None else {"random samples": random}
    out.update({f"2-point {m}": two[m] for m in METHODS} | {f"4-point {m}": four[m] for m in ("linear", "matched")})
    return out


def table2_latents(prior, n: int, d: int, draws: int, seed: int, replicate: int = 0, sets=MIDPOINT_SETS) -> dict:
    """The latents one replicate model is scored on in the replicated Table 2 (notebooks 06-07): ``draws``
    independent random-sample sets ``{("random samples", k): (n, d)}`` and one set of each of ``sets`` (default
    every :data:`MIDPOINT_SETS`; ``{name: (n, d)}``), each from its own seeded draw; replicate ``r`` gets draws of
    its own. A subset of ``sets`` gives the same latents for the sets it keeps.
    """
    unknown = set(sets) - set(MIDPOINT_SETS)
    if unknown:
        raise ValueError(f"unknown midpoint sets {sorted(unknown)}; choose from {MIDPOINT_SETS}")
    s = 100 * (replicate + 1)
    out = midpoint_sets(draw(prior, 2 * n, d, seed, s + 1).reshape(2, n, d),
                        draw(prior, 4 * n, d, seed, s + 2).reshape(4, n, d), prior)  # fmt: skip
    out = {name: z for name, z in out.items() if name in sets}
    out.update({("random samples", k): draw(prior, n, d, seed, s + 10 + k) for k in range(draws)})
    return out


def table2_values(
    decode, scores_of, prior, n: int, d: int, draws: int, seed: int, replicate: int = 0, sets=MIDPOINT_SETS
) -> list:
    """Every score of every set of :func:`table2_latents` for one replicate model: ``decode`` maps latents to images
    in [-1, 1], ``scores_of`` a uint8 image set to ``{score: value}``. Rows ``{set, draw, score, value}`` (draw 0
    for the midpoint sets).
    """
    rows = []
    for key, z in table2_latents(prior, n, d, draws, seed, replicate, sets).items():
        name, k = key if isinstance(key, tuple) else (key, 0)
        rows += [dict(set=name, draw=k, score=sc, value=v) for sc, v in scores_of(to_uint8(decode(z))).items()]
    return rows


def walks(z0: torch.Tensor, steps: torch.Tensor, eps: float, prior) -> dict[str, torch.Tensor]:
    """Random walks from ``z0`` with the same step directions ``steps`` (n, d) drawn from the prior; each (n + 1, d)."""
    prior = get_prior(prior)
    return {"linear": ops.random_walk(z0, steps, eps), "matched": matching.matched_random_walk(z0, steps, eps, prior)}


def vicinity_samples(z: torch.Tensor, us: torch.Tensor, eps: float, prior) -> dict[str, torch.Tensor]:
    """Samples around ``z`` (d,) in directions ``us`` (k, d) drawn from the prior; each (k, d)."""
    prior = get_prior(prior)
    return {"linear": ops.vicinity(z, us, eps), "matched": matching.matched_vicinity(z, us, eps, prior)}


def analogies(z1: torch.Tensor, z2: torch.Tensor, z3: torch.Tensor, prior) -> dict[str, torch.Tensor]:
    """Analogies z3 + (z2 - z1), plain and matched; inputs (N, d), each output (N, d)."""
    prior = get_prior(prior)
    return {"linear": ops.analogy(z1, z2, z3), "matched": matching.matched_analogy(z1, z2, z3, prior)}


def norms(variants: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Euclidean norm of every latent of every variant (over the last axis)."""
    return {m: torch.linalg.vector_norm(torch.as_tensor(v), dim=-1).numpy() for m, v in variants.items()}
