"""Resampling: permutation tests, bootstrap intervals (plain and by cluster) and Holm's correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .distances import poly_kernel

__all__ = ["holm", "holm_by_score", "permutation_p", "permutation_test", "bootstrap_ci", "kid_permutation_test"]


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (family-wise error control; NaNs are left out and kept)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def holm_by_score(table: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Add ``p_holm`` to a long table (columns ``set``, ``score``, ``p_value``): Holm-adjusted over the
    non-baseline sets, separately for each score (one family of tests per score).
    """
    table["p_holm"] = np.nan
    for _, idx in table.groupby("score").groups.items():
        sub = table.loc[idx]
        mask = sub.set != baseline
        table.loc[sub.index[mask], "p_holm"] = holm(sub.loc[mask, "p_value"])
    return table


def permutation_p(observed: float, null: np.ndarray) -> float:
    """Two-sided permutation p-value, counting the observed arrangement: (1 + #{|T*| >= |T|}) / (1 + B)."""
    null = np.asarray(null)
    return float((1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (1 + len(null)))


def permutation_test(a, b, statistic, n_perm: int = 200, seed: int = 0) -> dict:
    """Two-sample permutation test of ``statistic(b) - statistic(a)`` (two-sided).

    ``a`` and ``b`` are arrays/tensors of samples along the first axis; under the null hypothesis (same
    distribution) the pooled samples are exchangeable, so the observed difference is compared with the
    differences of ``n_perm`` random relabellings (sizes kept).  Returns ``{"diff", "p", "null"}``.
    """
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    pooled = torch.cat([a, b])
    na = len(a)
    observed = statistic(b) - statistic(a)
    rng = np.random.default_rng(seed)
    null = np.empty(n_perm)
    for k in range(n_perm):
        idx = torch.from_numpy(rng.permutation(len(pooled)))
        null[k] = statistic(pooled[idx[na:]]) - statistic(pooled[idx[:na]])
    return {"diff": float(observed), "p": permutation_p(observed, null), "null": null}


def bootstrap_ci(
    x, statistic, n_boot: int = 200, level: float = 0.95, seed: int = 0, groups=None
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``statistic`` over the samples (first axis) of ``x``.

    With ``groups`` (one label per sample), whole groups are resampled with replacement (a cluster bootstrap):
    the right interval when samples within a group are not independent, e.g. several photographs of one person.
    """
    x = torch.as_tensor(x)
    rng = np.random.default_rng(seed)
    if groups is None:
        draw = lambda: torch.from_numpy(rng.integers(0, len(x), len(x)))  # noqa: E731
    else:
        codes = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
        if len(codes) != len(x):
            raise ValueError(f"{len(codes)} group labels for {len(x)} samples")
        members = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
        draw = lambda: torch.from_numpy(
            np.concatenate(  # noqa: E731
                [members[g] for g in rng.integers(0, len(members), len(members))]
            )
        )
    vals = np.array([statistic(x[draw()]) for _ in range(n_boot)])
    lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def kid_permutation_test(reference, a, b, n_perm: int = 200, seed: int = 0, max_n: int | None = None) -> dict:
    """Permutation test of ``MMD^2(b, ref) - MMD^2(a, ref)`` (unbiased, KID's kernel, on **all** samples of each
    set; two-sided). ``max_n`` (default none) keeps the first ``max_n`` samples of each set, for memory: the pooled
    kernel matrix has ``(len(a) + len(b))^2`` entries.

    The pooled kernel matrix is computed once; the within-set sums of a relabelling are ``1_X^T K 1_X``, done
    for all relabellings in one matrix product.  Returns ``{"diff", "p", "null"}``.
    """
    r = torch.as_tensor(reference).double()[:max_n]
    a = torch.as_tensor(a).double()[:max_n]
    b = torch.as_tensor(b).double()[:max_n]
    pooled = torch.cat([a, b])
    na, nb = len(a), len(b)
    kpp = poly_kernel(pooled, pooled)
    kpp.fill_diagonal_(0.0)
    cross = poly_kernel(pooled, r).mean(1)  # mean kernel to the reference, per pooled sample
    rng = np.random.default_rng(seed)
    labels = np.zeros((n_perm + 1, len(pooled)))
    labels[0, na:] = 1.0
    for k in range(1, n_perm + 1):
        labels[k, rng.permutation(len(pooled))[na:]] = 1.0
    ib = torch.from_numpy(labels).T  # (2n, B+1): indicator of set b
    ia = 1.0 - ib
    sums_b = ((kpp @ ib) * ib).sum(0)
    sums_a = ((kpp @ ia) * ia).sum(0)
    # the reference's own term cancels in the difference
    diff = (sums_b / (nb * (nb - 1)) - 2 * (cross @ ib) / nb) - (sums_a / (na * (na - 1)) - 2 * (cross @ ia) / na)
    diff = diff.numpy()
    return {"diff": float(diff[0]), "p": permutation_p(diff[0], diff[1:]), "null": diff[1:]}
