r"""The Monge-Kantorovich problem: the discrete linear program, Monge maps read off plans, Gaussian maps.

- :func:`kantorovich` -- the discrete Kantorovich linear program (scipy's HiGHS), with its dual;
  :func:`monge_map_from_plan` reads a map off a plan that does not split mass;
- :func:`gaussian_map`, :func:`gaussian_w2` -- the closed-form quadratic-cost map between Gaussians.

In one dimension the problem is solved by the monotone map (:mod:`otlatent.transport1d`).
Inputs are checked as there: bad masses or shapes raise ``ValueError`` saying what is wrong.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .transport1d import WEIGHT_SUM_TOL, as_samples

__all__ = ["KantorovichResult", "kantorovich", "monge_map_from_plan", "GaussianMap", "gaussian_map", "gaussian_w2"]


# ------------------------------------------------------------------------------ Kantorovich (discrete)
@dataclasses.dataclass(frozen=True)
class KantorovichResult:
    r"""Solution of the discrete Kantorovich problem.

    Attributes
    ----------
    plan : ndarray, shape (n, m)
        An optimal coupling :math:`P` (rows sum to ``a``, columns to ``b``).
    cost : float
        :math:`\langle C, P\rangle = \sum_{ij} C_{ij} P_{ij}`.
    u, v : ndarray, shapes (n,) and (m,)
        Optimal dual potentials: :math:`u_i + v_j \le C_{ij}` and :math:`a^\top u + b^\top v` = ``cost``.
    """

    plan: np.ndarray
    cost: float
    u: np.ndarray
    v: np.ndarray


def kantorovich(a, b, C) -> KantorovichResult:
    r"""Solve the discrete Kantorovich problem as a linear program (scipy's HiGHS).

    .. math::
        \min_{P \ge 0} \sum_{ij} C_{ij} P_{ij}
        \quad\text{s.t.}\quad \sum_j P_{ij} = a_i,\ \sum_i P_{ij} = b_j,

    with dual :math:`\max_{u, v} a^\top u + b^\top v` s.t. :math:`u_i + v_j \le C_{ij}`; the dual
    potentials are HiGHS's equality-constraint marginals.

    Parameters
    ----------
    a, b : array_like, shapes (n,) and (m,)
        Non-negative masses with equal totals (within :data:`WEIGHT_SUM_TOL` relative).
    C : array_like, shape (n, m)
        Finite cost matrix.

    Returns
    -------
    KantorovichResult
        Plan, cost and dual potentials.

    Raises
    ------
    ValueError
        Empty, negative or non-finite masses, unequal totals, or ``C`` of the wrong shape.
    """
    import scipy.sparse as sp
    from scipy.optimize import linprog

    a = as_samples(a, "a")
    b = as_samples(b, "b")
    C = np.asarray(C, dtype=np.float64)
    n, m = a.shape[0], b.shape[0]
    if C.shape != (n, m):
        raise ValueError(f"C has shape {C.shape}, expected (len(a), len(b)) = ({n}, {m})")
    if not np.all(np.isfinite(C)):
        raise ValueError("C holds NaN or infinite values")
    for name, arr in (("a", a), ("b", b)):
        if np.any(arr < 0):
            raise ValueError(f"{name} holds negative masses")
    if abs(a.sum() - b.sum()) > WEIGHT_SUM_TOL * max(a.sum(), b.sum(), 1.0):
        raise ValueError(f"a and b must have equal total mass, got {a.sum()!r} and {b.sum()!r}")
    rows = sp.kron(sp.eye(n), np.ones((1, m)))  # sum_j P_ij = a_i
    cols = sp.kron(np.ones((1, n)), sp.eye(m))  # sum_i P_ij = b_j
    A_eq = sp.vstack([rows, cols]).tocsc()
    res = linprog(C.ravel(), A_eq=A_eq, b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the transport LP: {res.message}")
    plan = res.x.reshape(n, m)
    duals = res.eqlin.marginals
    return KantorovichResult(plan=plan, cost=float(res.fun), u=duals[:n].copy(), v=duals[n:].copy())


def monge_map_from_plan(plan, atol: float | None = None) -> np.ndarray:
    r"""Read a Monge map :math:`x_i \mapsto y_{T(i)}` off a plan that never splits a row's mass.

    A coupling :math:`P` is induced by a map when every row with mass has exactly one positive
    entry; for equal uniform masses an optimal such plan is :math:`\frac1n` times a permutation
    matrix (Birkhoff: the LP has a permutation among its optima, and HiGHS returns a vertex).

    Parameters
    ----------
    plan : array_like, shape (n, m)
        A coupling.
    atol : float, optional
        Entries ``<= atol`` count as zero; default ``1e-9 * plan.max()``.

    Returns
    -------
    ndarray of int, shape (n,)
        ``T[i]`` is the column receiving row ``i``'s mass (``-1`` for rows without mass).  The
        plan is a permutation when ``np.array_equal(np.sort(T), np.arange(n))``.

    Raises
    ------
    ValueError
        If a row splits its mass between several columns: no map induces such a plan.
    """
    P = np.asarray(plan, dtype=np.float64)
    if P.ndim != 2 or P.size == 0:
        raise ValueError(f"plan must be a non-empty 2-D array, got shape {P.shape}")
    if not np.all(np.isfinite(P)) or np.any(P < 0):
        raise ValueError("plan must hold finite non-negative masses")
    tol = 1e-9 * P.max() if atol is None else float(atol)
    support = P > tol
    counts = support.sum(axis=1)
    split = np.flatnonzero(counts > 1)
    if split.size:
        raise ValueError(
            f"the plan splits the mass of row(s) {split[:10].tolist()} between several columns: no Monge map induces it"
        )
    return np.where(counts == 1, support.argmax(axis=1), -1)


# ------------------------------------------------------------------------------ Gaussians
def _sqrtm_psd(S: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(S)
    return (V * np.sqrt(np.clip(w, 0, None))) @ V.T


def _gaussian(mean, cov, name: str) -> tuple[np.ndarray, np.ndarray]:
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    cov = np.asarray(cov, dtype=np.float64)
    d = mean.shape[0]
    if mean.ndim != 1:
        raise ValueError(f"mean_{name} must be a vector, got shape {mean.shape}")
    cov = cov.reshape(1, 1) if cov.ndim == 0 else cov
    if cov.shape != (d, d):
        raise ValueError(f"cov_{name} has shape {cov.shape}, expected ({d}, {d}) for a mean of length {d}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        raise ValueError(f"mean_{name} / cov_{name} hold NaN or infinite values")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"cov_{name} is not symmetric")
    if np.linalg.eigvalsh(cov).min() <= 0:
        raise ValueError(f"cov_{name} is not positive definite")
    return mean, cov


@dataclasses.dataclass(frozen=True)
class GaussianMap:
    r"""The affine map :math:`T(x) = A x + b` (see :func:`gaussian_map`).

    Calling it on an array of shape ``(..., d)`` maps each row; in dimension one, any array is
    mapped elementwise.
    """

    A: np.ndarray
    b: np.ndarray

    @property
    def dim(self) -> int:
        return self.b.shape[0]

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.dim == 1:
            return self.A[0, 0] * x + self.b[0]
        if x.shape[-1] != self.dim:
            raise ValueError(f"points have dimension {x.shape[-1]}, the map {self.dim}")
        return x @ self.A.T + self.b


def gaussian_map(mean_source, cov_source, mean_target, cov_target) -> GaussianMap:
    r"""The optimal map for the squared Euclidean cost from :math:`N(m_1, \Sigma_1)` to :math:`N(m_2, \Sigma_2)`.

    .. math::
        T(x) = m_2 + A (x - m_1), \qquad
        A = \Sigma_1^{-1/2}\big(\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}\big)^{1/2} \Sigma_1^{-1/2}.

    :math:`A` is symmetric positive definite (so :math:`T` is the gradient of a convex function,
    Brenier) and :math:`A \Sigma_1 A = \Sigma_2`.  In one dimension
    :math:`T(x) = m_2 + \frac{\sigma_2}{\sigma_1}(x - m_1)`, which is also the monotone map.

    Parameters
    ----------
    mean_source, mean_target : float or array_like, shape (d,)
    cov_source, cov_target : float or array_like, shape (d, d)
        Covariances (variances when scalar), symmetric positive definite.

    Returns
    -------
    GaussianMap
        ``T`` with attributes ``A`` (d, d) and ``b`` (d,), :math:`T(x) = A x + b`.
    """
    m1, S1 = _gaussian(mean_source, cov_source, "source")
    m2, S2 = _gaussian(mean_target, cov_target, "target")
    if m1.shape != m2.shape:
        raise ValueError(f"source has dimension {m1.shape[0]}, target {m2.shape[0]}")
    r1 = _sqrtm_psd(S1)
    r1_inv = np.linalg.inv(r1)
    A = r1_inv @ _sqrtm_psd(r1 @ S2 @ r1) @ r1_inv
    A = (A + A.T) / 2
    return GaussianMap(A=A, b=m2 - A @ m1)


def gaussian_w2(mean_source, cov_source, mean_target, cov_target) -> float:
    r"""The 2-Wasserstein distance between two Gaussians (Bures-Wasserstein).

    .. math::
        W_2^2 = \|m_1 - m_2\|^2 + \operatorname{tr}\Big(\Sigma_1 + \Sigma_2
        - 2\big(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}\big)^{1/2}\Big);

    in one dimension :math:`W_2^2 = (m_1 - m_2)^2 + (\sigma_1 - \sigma_2)^2`.
    """
    m1, S1 = _gaussian(mean_source, cov_source, "source")
    m2, S2 = _gaussian(mean_target, cov_target, "target")
    if m1.shape != m2.shape:
        raise ValueError(f"source has dimension {m1.shape[0]}, target {m2.shape[0]}")
    r1 = _sqrtm_psd(S1)
    w2sq = float(np.sum((m1 - m2) ** 2) + np.trace(S1 + S2 - 2 * _sqrtm_psd(r1 @ S2 @ r1)))
    return float(np.sqrt(max(w2sq, 0.0)))
