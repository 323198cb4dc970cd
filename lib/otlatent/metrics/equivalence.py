r"""Verdicts over replicated models: the set-to-set noise of a score, changes against several random-sample draws,
a random-effects summary across replicate models, equivalence tests with a margin fixed in advance, and
one-sided "worse" tests with Holm's correction.

The design, for one score ``s`` and one model family (a dataset and a prior):

- each of ``R`` independently trained replicate models ``r`` gives ``K`` random-sample sets ``B_r1 .. B_rK`` and
  one set ``O_r`` per operation (midpoints), all of ``n`` images, scored on all their images;
- **set noise**: :math:`\sigma_s` = the pooled within-model standard deviation of :math:`100\, s(B_{rk}) /
  \bar b_r` (in %, :math:`\bar b_r` the mean over the K draws), with :math:`R (K - 1)` degrees of freedom: how
  much the score moves between two sets with identical laws;
- **change** of an operation against the random samples, per replicate:
  :math:`\Delta_r = 100\,(s(O_r)/\bar b_r - 1)` with standard error :math:`\sigma_s \sqrt{1 + 1/K}`;
- **random vs random** (the null control): each draw against the mean of the other ``K - 1``,
  :math:`100\,(s(B_{rk}) / \bar b_{r,-k} - 1)`, standard error :math:`\sigma_s \sqrt{1 + 1/(K-1)}`;
- **pooled over replicates**: the DerSimonian–Laird random-effects summary of the :math:`\Delta_r`
  (:func:`random_effects`); intervals and tests use Student's t with the set noise's R (K - 1) degrees of freedom;
- **equivalence** ("indistinguishable"): two one-sided tests against the margin :math:`\delta_s` =
  :data:`MARGIN_SD` :math:`\times \sigma_s` (:func:`tost_p`), fixed before any operation's row is looked at;
  equivalent when the TOST p-value is below ``alpha`` (the 90% interval lies inside :math:`\pm\delta_s`). A claim
  that *every* cell is equivalent is an intersection-union test and needs no multiplicity correction;
- **worse**: a one-sided t-test of the pooled change in the score's worse direction (:func:`worse_p`),
  Holm-adjusted over the family of rows tested for being worse.

"Not shown equivalent" and "not shown worse" are verdicts of their own: failing to reject says nothing about equality.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .resampling import holm

__all__ = [
    "MARGIN_SD",
    "BASELINE",
    "RANDOM_VS_RANDOM",
    "set_noise",
    "relative_changes",
    "random_effects",
    "tost_p",
    "worse_p",
    "equivalence_power",
    "evidence",
    "false_positive_rate",
    "verdict_table",
]

#: The equivalence margin in units of the set noise :math:`\sigma_s`: a change counts as negligible when it is shown
#: to be smaller than three standard deviations of the score between two random-sample sets of the same size.
#: Fixed in advance (2026-12-01, before any matched row was scored with it); :func:`equivalence_power` gives the
#: power it leaves.
MARGIN_SD = 3.0

#: The row name of the random samples and of the null control.
BASELINE = "random samples"
RANDOM_VS_RANDOM = "random vs random"


def _check_values(values: pd.DataFrame, baseline: str) -> None:
    missing = {"replicate", "set", "draw", "score", "value"} - set(values.columns)
    if missing:
        raise ValueError(f"values needs columns replicate, set, draw, score, value; missing {sorted(missing)}")
    draws = values[values.set == baseline].groupby(["replicate", "score"]).size()
    if draws.empty:
        raise ValueError(f"no {baseline!r} rows in values")
    if draws.min() < 2:
        raise ValueError(
            f"the set noise needs at least 2 draws of {baseline!r} per replicate and score, got {draws.min()}"
        )


def set_noise(values: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """The set noise of each score: pooled within-replicate SD of ``100 v(B_rk) / mean_k v(B_rk)`` (in %).

    ``values`` is a long table with columns ``replicate``, ``set``, ``draw``, ``score``, ``value`` (one row per
    scored set). Returns one row per score with ``sigma_pct``, ``df`` (= R (K - 1)), ``draws`` (K) and
    ``replicates`` (R). Only the ``baseline`` rows are read: the margin derived from it cannot depend on any
    operation's result.
    """
    _check_values(values, baseline)
    rows = []
    for score, g in values[values.set == baseline].groupby("score", sort=False):
        ss, df, draws = 0.0, 0, []
        for _, h in g.groupby("replicate"):
            v = h.value.to_numpy(float)
            rel = 100 * v / v.mean()
            ss += float(((rel - rel.mean()) ** 2).sum())
            df += len(v) - 1
            draws.append(len(v))
        rows.append(
            dict(
                score=score,
                sigma_pct=float(np.sqrt(ss / df)),
                df=df,
                draws=min(draws),
                replicates=g.replicate.nunique(),
            )
        )
    return pd.DataFrame(rows).set_index("score")


def relative_changes(values: pd.DataFrame, baseline: str = BASELINE, noise: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per replicate, the change (%) of every set against the mean of the ``baseline`` draws, with its standard error.

    Operation sets: ``100 (v / mean_k v(B_k) - 1)``, SE ``sigma sqrt(1 + 1/K)``. The baseline draws become the rows
    :data:`RANDOM_VS_RANDOM` (one per draw ``k``): ``100 (v(B_k) / mean_{j != k} v(B_j) - 1)``, SE
    ``sigma sqrt(1 + 1/(K - 1))``. Returns columns ``replicate``, ``set``, ``draw``, ``score``, ``change_pct``,
    ``se_pct``.
    """
    noise = set_noise(values, baseline) if noise is None else noise
    rows = []
    for (rep, score), g in values.groupby(["replicate", "score"], sort=False):
        base = g[g.set == baseline].value.to_numpy(float)
        k = len(base)
        sigma = noise.loc[score, "sigma_pct"]
        for j, v in enumerate(base):
            others = np.delete(base, j).mean()
            rows.append(
                dict(
                    replicate=rep,
                    set=RANDOM_VS_RANDOM,
                    draw=j,
                    score=score,
                    change_pct=100 * (v / others - 1),
                    se_pct=sigma * np.sqrt(1 + 1 / (k - 1)),
                )
            )
        for r in g[g.set != baseline].itertuples():
            rows.append(
                dict(
                    replicate=rep,
                    set=r.set,
                    draw=r.draw,
                    score=score,
                    change_pct=100 * (r.value / base.mean() - 1),
                    se_pct=sigma * np.sqrt(1 + 1 / k),
                )
            )
    return pd.DataFrame(rows)


def random_effects(estimates, ses) -> dict:
    r"""DerSimonian–Laird random-effects summary of per-replicate estimates with standard errors ``ses``.

    :math:`w_r = 1/se_r^2`, :math:`Q = \sum w_r (x_r - \bar x_w)^2`,
    :math:`\tau^2 = \max(0, (Q - (R-1)) / (\sum w - \sum w^2 / \sum w))`, then weights
    :math:`1/(se_r^2 + \tau^2)`. Returns ``{"estimate", "se", "tau2", "q", "n"}``.
    """
    x = np.asarray(estimates, float)
    v = np.asarray(ses, float) ** 2
    if x.shape != v.shape or x.size == 0:
        raise ValueError("estimates and ses must be non-empty and of one length")
    if np.any(v <= 0):
        raise ValueError("standard errors must be positive")
    w = 1 / v
    mean_w = (w * x).sum() / w.sum()
    q = float((w * (x - mean_w) ** 2).sum())
    denom = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (q - (len(x) - 1)) / denom) if len(x) > 1 else 0.0
    wr = 1 / (v + tau2)
    return {
        "estimate": float((wr * x).sum() / wr.sum()),
        "se": float(np.sqrt(1 / wr.sum())),
        "tau2": tau2,
        "q": q,
        "n": len(x),
    }


def _law(df):
    """The reference law of a test statistic: normal, or Student's t with ``df`` degrees of freedom."""
    return stats.norm if df is None or not np.isfinite(df) else stats.t(df)


def tost_p(estimate: float, se: float, margin: float, df: float | None = None) -> float:
    r"""Two one-sided tests of :math:`|\theta| \ge \delta`: :math:`\max(1 - F((x + \delta)/se),
    F((x - \delta)/se))` with ``F`` normal, or Student's t with ``df`` degrees of freedom (when ``se`` is estimated);
    below ``alpha`` means equivalence within :math:`\pm\delta` at level ``alpha``.
    """
    if margin <= 0 or se <= 0:
        raise ValueError(f"margin and se must be positive, got {margin}, {se}")
    law = _law(df)
    return float(max(law.sf((estimate + margin) / se), law.cdf((estimate - margin) / se)))


def worse_p(estimate: float, se: float, worse: str, df: float | None = None) -> float:
    """One-sided p-value (normal, or t with ``df``) that the change moved in the ``worse`` direction
    (``"higher"`` or ``"lower"``).
    """
    if worse not in ("higher", "lower"):
        raise ValueError(f"worse must be 'higher' or 'lower', got {worse!r}")
    z = estimate / se
    law = _law(df)
    return float(law.sf(z) if worse == "higher" else law.cdf(z))


def equivalence_power(
    true_change: float, se: float, margin: float, alpha: float = 0.05, df: float | None = None
) -> float:
    r"""Probability that :func:`tost_p` declares equivalence when the estimate is normal around ``true_change``
    with standard error ``se``: :math:`P(|x| < \delta - q_{1-\alpha}\, se)`, ``q`` the normal (or t with ``df``)
    quantile.
    """
    half = margin - _law(df).ppf(1 - alpha) * se
    if half <= 0:
        return 0.0
    return float(stats.norm.cdf((half - true_change) / se) - stats.norm.cdf((-half - true_change) / se))


def evidence(
    values: pd.DataFrame,
    worse: dict,
    tested_worse,
    tested_equivalent,
    baseline: str = BASELINE,
    alpha: float = 0.05,
    margin_sd: float = MARGIN_SD,
    by=(),
    margins: dict | None = None,
) -> pd.DataFrame:
    """Pooled verdicts for every (group, set, score) of a replicated design.

    Parameters
    ----------
    values : DataFrame
        Long table of scored sets (columns ``replicate``, ``set``, ``draw``, ``score``, ``value`` and the columns
        named in ``by``), with at least two ``baseline`` draws per replicate.
    worse : dict
        Score -> ``"higher"`` or ``"lower"``, the direction in which it gets worse (:data:`~otlatent.metrics.WORSE`).
    tested_worse, tested_equivalent : list of str
        The sets whose verdict is "worse" or not (Holm over all of them and all scores and groups), and those whose
        verdict is "equivalent" or not. The null control :data:`RANDOM_VS_RANDOM` gets both tests, unadjusted.
    by : sequence of str
        Columns that name a model family (e.g. ``("prior",)``); noise, margins and pooling are per family.
    margins : dict, optional
        Score -> margin in %, instead of ``margin_sd`` times the family's set noise.

    The tests use Student's t with the set noise's degrees of freedom, R (K - 1): the standard errors rest on it.

    Returns
    -------
    DataFrame
        One row per (family, set, score): ``change_pct`` (pooled), ``se_pct``, ``ci_low``/``ci_high`` (95%),
        ``tau2``, ``margin_pct``, ``sigma_pct``, ``p_worse``, ``p_holm`` (worse family only), ``p_better``,
        ``p_better_holm`` (the same test in the better direction), ``p_tost``,
        ``replicates``, ``agree`` (replicates whose own test gives the pooled verdict), ``verdict``.
    """
    by = list(by)
    out = []
    groups = values.groupby(by, sort=False) if by else [((), values)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        noise = set_noise(g, baseline)
        changes = relative_changes(g, baseline, noise)
        # the null control pools one draw per replicate (draw 0 against the others): the same design as an operation
        control = changes[(changes.set == RANDOM_VS_RANDOM) & (changes.draw == 0)]
        pooled_input = pd.concat([control, changes[changes.set != RANDOM_VS_RANDOM]])
        for (name, score), h in pooled_input.groupby(["set", "score"], sort=False):
            row = dict(zip(by, key))
            if not noise.loc[score, "sigma_pct"] > 0:  # a score that never varies between sets cannot be tested
                row.update(
                    set=name,
                    score=score,
                    change_pct=float(h.change_pct.mean()),
                    replicates=len(h),
                    rep_worse_=[],
                    rep_equiv_=[],
                    degenerate_=True,
                )
                out.append(row)
                continue
            re = random_effects(h.change_pct, h.se_pct)
            margin = margin_sd * noise.loc[score, "sigma_pct"] if margins is None else float(margins[score])
            df = float(noise.loc[score, "df"])
            row.update(
                set=name,
                score=score,
                change_pct=re["estimate"],
                se_pct=re["se"],
                ci_low=re["estimate"] - stats.t.ppf(0.975, df) * re["se"],
                ci_high=re["estimate"] + stats.t.ppf(0.975, df) * re["se"],
                tau2=re["tau2"],
                sigma_pct=noise.loc[score, "sigma_pct"],
                margin_pct=margin,
                replicates=re["n"],
                df=df,
                p_worse=worse_p(re["estimate"], re["se"], worse[score], df),
                p_better=worse_p(re["estimate"], re["se"], _opposite(worse[score]), df),
                p_tost=tost_p(re["estimate"], re["se"], margin, df),
            )
            # each replicate's own tests, for the agreement count
            row["rep_worse_"] = [worse_p(c, e, worse[score], df) < alpha for c, e in zip(h.change_pct, h.se_pct)]
            row["rep_equiv_"] = [tost_p(c, e, margin, df) < alpha for c, e in zip(h.change_pct, h.se_pct)]
            out.append(row)
    table = pd.DataFrame(out)
    if "degenerate_" not in table:
        table["degenerate_"] = False
    table["degenerate_"] = table["degenerate_"].fillna(False).astype(bool)
    family = table.set.isin(list(tested_worse)) & ~table["degenerate_"]
    table["p_holm"] = table["p_better_holm"] = np.nan
    table.loc[family, "p_holm"] = holm(table.loc[family, "p_worse"])
    table.loc[family, "p_better_holm"] = holm(table.loc[family, "p_better"])
    verdicts, agree = [], []
    for r in table.itertuples():
        if r.degenerate_:
            verdicts.append("no test: the score does not vary between random-sample sets")
            agree.append(np.nan)
            continue
        kinds = []
        if r.set in tested_worse:
            kinds.append("worse")
        if r.set in tested_equivalent:
            kinds.append("equivalent")
        if r.set == RANDOM_VS_RANDOM:
            kinds = ["worse", "equivalent"]
        parts, agrees = [], []
        for kind in kinds:
            if kind == "worse":
                p = r.p_holm if r.set in tested_worse else r.p_worse
                better = (r.p_better_holm if r.set in tested_worse else r.p_better) < alpha
                parts.append("worse" if p < alpha else ("better" if better else "not shown worse"))
                agrees.append(sum(w == (p < alpha) for w in r.rep_worse_))
            else:
                eq = r.p_tost < alpha
                parts.append("equivalent" if eq else "not shown equivalent")
                agrees.append(sum(e == eq for e in r.rep_equiv_))
        verdicts.append("; ".join(parts) if parts else "")
        agree.append(min(agrees) if agrees else np.nan)
    table["verdict"] = verdicts
    table["agree"] = agree
    return table.drop(columns=["rep_worse_", "rep_equiv_", "degenerate_"])


def _opposite(direction: str) -> str:
    return "lower" if direction == "higher" else "higher"


def false_positive_rate(values: pd.DataFrame, baseline: str = BASELINE, alpha: float = 0.05, by=()) -> pd.DataFrame:
    """The null control per model: every random-sample draw against the mean of the other draws of its model,
    two-sided z-test at ``alpha`` with the family's set noise. Returns per score ``tests``, ``rejected`` and
    ``rate`` (nominal: ``alpha``).
    """
    by = list(by)
    rows = []
    groups = values.groupby(by, sort=False) if by else [((), values)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        ch = relative_changes(g, baseline)
        ch = ch[ch.set == RANDOM_VS_RANDOM]
        noise = set_noise(g, baseline)
        for score, h in ch.groupby("score", sort=False):
            p = 2 * stats.t.sf(np.abs(h.change_pct / h.se_pct), noise.loc[score, "df"])
            row = dict(zip(by, key))
            row.update(score=score, tests=len(h), rejected=int((p < alpha).sum()))
            row["rate"] = row["rejected"] / row["tests"]
            rows.append(row)
    return pd.DataFrame(rows)


def verdict_table(ev: pd.DataFrame, values: pd.DataFrame, sets, scores, real: str = "real data") -> pd.DataFrame:
    """One row per set, one column per score, as the paper's Table 2 with replicates: the real data's and the random
    samples' values (mean over replicates and draws ± the set noise), then every other set's pooled change (%) with
    its 95% interval and its verdict.
    """
    cells = {}
    for score in scores:
        v = values[values.score == score]
        real_v = v[v.set == real].value
        if len(real_v):
            cells[(real, score)] = f"{real_v.mean():.4g}"
        base = v[v.set == BASELINE].value
        sigma = ev[ev.score == score].sigma_pct
        if len(base):
            cells[(BASELINE, score)] = (
                f"{base.mean():.4g} (±{sigma.iloc[0]:.2g}%)" if len(sigma) else f"{base.mean():.4g}"
            )
        for r in ev[ev.score == score].itertuples():
            cells[(r.set, score)] = f"{r.change_pct:+.1f}% [{r.ci_low:+.1f}, {r.ci_high:+.1f}] {r.verdict}"
    rows = [name for name in [real, BASELINE, RANDOM_VS_RANDOM, *sets] if any((name, s) in cells for s in scores)]
    rows = list(dict.fromkeys(rows))
    return pd.DataFrame(
        [[cells.get((name, s), "") for s in scores] for name in rows],
        index=pd.Index(rows, name="set"),
        columns=list(scores),
    )
