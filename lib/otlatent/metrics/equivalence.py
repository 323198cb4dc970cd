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
- **pooled over replicates**: a random-effects summary of the :math:`\Delta_r` (:func:`random_effects`:
  DerSimonian–Laird weights, Hartung–Knapp variance floored at the DerSimonian–Laird one, Student's t with
  :math:`R - 1` degrees of freedom — with three replicate models the spread between models is known only that well);
- **equivalence** ("indistinguishable"): two one-sided tests against the margin :math:`\delta_s` =
  :data:`MARGIN_SD` :math:`\times \sigma_s` (:func:`tost_p`), fixed before any operation's row is looked at;
  equivalent when the TOST p-value is below ``alpha`` (the 90% interval lies inside :math:`\pm\delta_s`). A claim
  that *every* cell is equivalent is an intersection-union test and needs no multiplicity correction;
- **worse** (or **better**) **in every replicate model**: each replicate's one-sided t-test of its change
  (:func:`worse_p`, the set noise's df), combined as an intersection-union test (the largest of the R p-values: the
  claim "worse for each of these models" is rejected only if it is rejected for each one; valid whatever the
  spread between models), Holm-adjusted together over both directions of every row tested for a change. The
  random-effects interval above says how large the average change is; this test says whether every model agrees.

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
    "simulated_power",
    "evidence",
    "pool_evidence",
    "paired_bootstrap_changes",
    "paired_units",
    "false_positive_rate",
    "verdict_table",
]

#: The equivalence margin in units of the set noise :math:`\sigma_s`: a change counts as negligible when it is shown
#: to be smaller than three standard deviations of the score between two random-sample sets of the same size.
#: Chosen on 2026-12-01 as a rule (three set-noise SDs), after earlier single-draw versions of the study's Table 2 had
#: been seen but before any row of this replicated design was scored; :func:`equivalence_power` gives the power it
#: leaves.
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


def _baseline_draws(values: pd.DataFrame, baseline: str, score: str) -> dict:
    """``{replicate: (draws, values)}`` of one score's baseline rows, as arrays."""
    g = values[(values.set == baseline) & (values.score == score)]
    return {rep: (h.draw.to_numpy(), h.value.to_numpy(float)) for rep, h in g.groupby("replicate")}


def _sigma(draws: dict, leave_out=None) -> tuple[float, int]:
    """Pooled within-replicate SD (%) of baseline draws (``{replicate: (draws, values)}``) relative to their
    replicate's mean, and its degrees of freedom; ``leave_out``: one (replicate, draw) pair not used. NaN when a
    replicate's mean is not bounded away from zero (at most 3 SDs above it): a relative change against it means
    nothing.
    """
    ss, df = 0.0, 0
    for rep, (d, v) in draws.items():
        if leave_out is not None and leave_out[0] == rep:
            v = v[d != leave_out[1]]
        if len(v) < 2:
            continue
        if v.mean() <= 0 or v.mean() <= 3 * v.std(ddof=1):
            return float("nan"), 0
        rel = 100 * v / v.mean()
        ss += float(((rel - rel.mean()) ** 2).sum())
        df += len(v) - 1
    return (float(np.sqrt(ss / df)), df) if df else (float("nan"), 0)


def set_noise(values: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """The set noise of each score: pooled within-replicate SD of ``100 v(B_rk) / mean_k v(B_rk)`` (in %).

    ``values`` is a long table with columns ``replicate``, ``set``, ``draw``, ``score``, ``value`` (one row per
    scored set). Returns one row per score with ``sigma_pct``, ``df`` (= R (K - 1)), ``draws`` (K) and
    ``replicates`` (R). Only the ``baseline`` rows are read: the margin derived from it cannot depend on any
    operation's result. ``sigma_pct`` is NaN where a replicate's baseline mean is not bounded away from zero
    (at most three of its SDs above zero).
    """
    _check_values(values, baseline)
    rows = []
    for score, g in values[values.set == baseline].groupby("score", sort=False):
        sigma, df = _sigma(_baseline_draws(values, baseline, score))
        sizes = g.groupby("replicate").size()
        rows.append(dict(score=score, sigma_pct=sigma, df=df, draws=int(sizes.min()), replicates=len(sizes)))
    return pd.DataFrame(rows).set_index("score")


def relative_changes(values: pd.DataFrame, baseline: str = BASELINE, noise: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per replicate, the change (%) of every set against the mean of the ``baseline`` draws, with its standard error.

    Operation sets: ``100 (v / mean_k v(B_k) - 1)``, SE ``sigma sqrt(1 + 1/K)`` with ``df`` = R (K - 1). The
    baseline draws become the rows :data:`RANDOM_VS_RANDOM` (one per draw ``k``): ``100 (v(B_k) / mean_{j != k}
    v(B_j) - 1)``, SE ``sigma_{-k} sqrt(1 + 1/(K - 1))`` where ``sigma_{-k}`` leaves draw ``k`` out (so that it is
    independent of the deviation it judges), ``df`` = R (K - 1) - 1. Returns columns ``replicate``, ``set``,
    ``draw``, ``score``, ``change_pct``, ``se_pct``, ``df``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero baseline gives inf/NaN, and its noise NaN: no test
        return _relative_changes(values, baseline, set_noise(values, baseline) if noise is None else noise)


def _relative_changes(values: pd.DataFrame, baseline: str, noise: pd.DataFrame) -> pd.DataFrame:
    draws = {score: _baseline_draws(values, baseline, score) for score in values.score.unique()}
    rows = []
    for (rep, score), g in values.groupby(["replicate", "score"], sort=False):
        base = g[g.set == baseline].sort_values("draw")
        if len(base) < 2:
            raise ValueError(f"replicate {rep!r} has {len(base)} {baseline!r} draws of {score!r}: at least 2 needed")
        b = base.value.to_numpy(float)
        k = len(b)
        for j, (draw, v) in enumerate(zip(base.draw, b)):
            sigma, df = _sigma(draws[score], leave_out=(rep, draw))
            rows.append(
                dict(
                    replicate=rep,
                    set=RANDOM_VS_RANDOM,
                    draw=draw,
                    score=score,
                    change_pct=100 * (v / np.delete(b, j).mean() - 1),
                    se_pct=sigma * np.sqrt(1 + 1 / (k - 1)),
                    df=df,
                )
            )
        sigma, df = noise.loc[score, "sigma_pct"], noise.loc[score, "df"]
        for r in g[g.set != baseline].itertuples():
            rows.append(
                dict(
                    replicate=rep,
                    set=r.set,
                    draw=r.draw,
                    score=score,
                    change_pct=100 * (r.value / b.mean() - 1),
                    se_pct=sigma * np.sqrt(1 + 1 / k),
                    df=df,
                )
            )
    return pd.DataFrame(rows)


def _random_effects(x: np.ndarray, v: np.ndarray):
    """:func:`random_effects` on arrays whose last axis holds the replicates (vectorised over the others)."""
    n = x.shape[-1]
    w = 1 / v
    mean_w = (w * x).sum(-1, keepdims=True) / w.sum(-1, keepdims=True)
    q = (w * (x - mean_w) ** 2).sum(-1)
    denom = w.sum(-1) - (w**2).sum(-1) / w.sum(-1)
    tau2 = np.maximum(0.0, (q - (n - 1)) / denom) if n > 1 else np.zeros_like(q)
    wr = 1 / (v + tau2[..., None])
    est = (wr * x).sum(-1) / wr.sum(-1)
    var = 1 / wr.sum(-1)
    if n > 1:
        var = np.maximum(var, (wr * (x - est[..., None]) ** 2).sum(-1) / ((n - 1) * wr.sum(-1)))
    return est, np.sqrt(var), tau2, q


def random_effects(estimates, ses) -> dict:
    r"""Random-effects summary of per-replicate estimates with standard errors ``ses``: DerSimonian–Laird weights,
    Hartung–Knapp variance (floored at the DerSimonian–Laird one) and Student's t with :math:`R - 1` df.

    :math:`w_r = 1/se_r^2`, :math:`Q = \sum w_r (x_r - \bar x_w)^2`,
    :math:`\tau^2 = \max(0, (Q - (R-1)) / (\sum w - \sum w^2 / \sum w))`; weights :math:`v_r = 1/(se_r^2 + \tau^2)`,
    estimate :math:`\hat\mu = \sum v_r x_r / \sum v_r`, variance
    :math:`\max\big(1/\sum v_r,\; \sum v_r (x_r - \hat\mu)^2 / ((R - 1) \sum v_r)\big)`. With few replicates the
    between-replicate spread is itself estimated on :math:`R - 1` degrees of freedom: the t quantile carries that.
    Returns ``{"estimate", "se", "df", "tau2", "q", "n"}`` (``df`` NaN for one replicate).
    """
    x = np.asarray(estimates, float)
    v = np.asarray(ses, float) ** 2
    if x.shape != v.shape or x.size == 0 or x.ndim != 1:
        raise ValueError("estimates and ses must be non-empty 1-D arrays of one length")
    if not np.all(v > 0):
        raise ValueError("standard errors must be positive")
    est, se, tau2, q = _random_effects(x, v)
    n = len(x)
    return {
        "estimate": float(est),
        "se": float(se),
        "df": float(n - 1) if n > 1 else float("nan"),
        "tau2": float(tau2),
        "q": float(q),
        "n": n,
    }


def simulated_power(
    replicates: int,
    draws: int,
    true_change_sd: float = 0.0,
    margin_sd: float = MARGIN_SD,
    alpha: float = 0.05,
    n_sim: int = 20_000,
    seed: int = 0,
) -> float:
    """Probability that :func:`evidence` declares an operation row equivalent when its true change is
    ``true_change_sd`` set-noise SDs, for ``replicates`` models with ``draws`` random-sample sets each — by simulating
    the whole procedure (set noise estimated from the draws, margin ``margin_sd`` times it, the random-effects
    summary of :func:`random_effects`, TOST with t on R - 1 df), Gaussian set noise, no heterogeneity between models.
    """
    rng = np.random.default_rng(seed)
    r, k = replicates, draws
    base = rng.normal(0, 1, (n_sim, r, k))
    op = true_change_sd + rng.normal(0, 1, (n_sim, r))
    sigma = np.sqrt(((base - base.mean(-1, keepdims=True)) ** 2).sum((-1, -2)) / (r * (k - 1)))
    change = op - base.mean(-1)
    var = np.broadcast_to((sigma**2 * (1 + 1 / k))[:, None], change.shape)
    est, se, _, _ = _random_effects(change, var)
    margin = margin_sd * sigma
    p = np.maximum(stats.t.sf((est + margin) / se, r - 1), stats.t.sf((margin - est) / se, r - 1))
    return float(np.mean(p < alpha))


def _sf(x, df):
    """Upper tail of the normal law (``df`` None) or of Student's t with ``df`` degrees of freedom."""
    return stats.norm.sf(x) if df is None or not np.isfinite(df) else stats.t.sf(x, df)


def _ppf(q, df):
    return stats.norm.ppf(q) if df is None or not np.isfinite(df) else stats.t.ppf(q, df)


def tost_p(estimate: float, se: float, margin: float, df: float | None = None) -> float:
    r"""Two one-sided tests of :math:`|\theta| \ge \delta`: :math:`\max(1 - F((x + \delta)/se),
    F((x - \delta)/se))` with ``F`` normal, or Student's t with ``df`` degrees of freedom (when ``se`` is estimated);
    below ``alpha`` means equivalence within :math:`\pm\delta` at level ``alpha``.
    """
    if margin <= 0 or se <= 0:
        raise ValueError(f"margin and se must be positive, got {margin}, {se}")
    return float(max(_sf((estimate + margin) / se, df), _sf((margin - estimate) / se, df)))


def worse_p(estimate: float, se: float, worse: str, df: float | None = None) -> float:
    """One-sided p-value (normal, or t with ``df``) that the change moved in the ``worse`` direction
    (``"higher"`` or ``"lower"``).
    """
    if worse not in ("higher", "lower"):
        raise ValueError(f"worse must be 'higher' or 'lower', got {worse!r}")
    z = estimate / se
    return float(_sf(z, df) if worse == "higher" else _sf(-z, df))


def equivalence_power(
    true_change: float, se: float, margin: float, alpha: float = 0.05, df: float | None = None
) -> float:
    r"""Probability that :func:`tost_p` declares equivalence when the estimate is normal around ``true_change``
    with standard error ``se``: :math:`P(|x| < \delta - q_{1-\alpha}\, se)`, ``q`` the normal (or t with ``df``)
    quantile.
    """
    half = margin - _ppf(1 - alpha, df) * se
    if half <= 0:
        return 0.0
    return float(stats.norm.cdf((half - true_change) / se) - stats.norm.cdf((-half - true_change) / se))


def _verdict(kinds, p_worse, p_better, p_tost, direction_worse: bool, alpha: float) -> str:
    """The verdict text of one row from its tests (adjusted or not, as the caller passes them)."""
    parts = []
    for kind in kinds:
        if kind == "worse":
            if p_worse < alpha and direction_worse:
                parts.append("worse")
            elif p_better < alpha and not direction_worse:
                parts.append("better")
            else:
                parts.append("not shown worse")
        else:
            parts.append("equivalent" if p_tost < alpha else "not shown equivalent")
    return "; ".join(parts)


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
        The sets tested for a change ("worse", "better" or "not shown worse"; one-sided tests in both directions,
        Holm-adjusted together over all these rows, scores and groups) and those tested for equivalence (TOST at
        level ``alpha`` each). The null control :data:`RANDOM_VS_RANDOM` gets both tests, unadjusted.
    by : sequence of str
        Columns that name a model family (e.g. ``("prior",)``); noise, margins and pooling are per family.
    margins : dict, optional
        Score -> margin in %, instead of ``margin_sd`` times the family's set noise.

    Returns
    -------
    DataFrame
        One row per (family, set, score): ``change_pct`` (pooled, :func:`random_effects`), ``se_pct``, ``df``,
        ``ci_low``/``ci_high`` (95%), ``tau2``, ``sigma_pct``, ``margin_pct``, ``replicates``, ``p_worse`` and
        ``p_better`` (one-sided, worse / better in every replicate: the largest replicate p-value), ``p_holm`` and
        ``p_better_holm`` (adjusted together; tested-for-change rows only), ``p_tost`` (random-effects TOST),
        ``verdict`` and ``agree``: how many replicates' own unadjusted tests (with the known set noise) give the same
        verdict text. Scores whose set noise is undefined (constant, or a baseline not bounded away
        from zero) get the verdict "no test: ..." and NaN tests.
    """
    by = list(by)
    changes, sigma = [], []
    groups = values.groupby(by, sort=False) if by else [((), values)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        noise = set_noise(g, baseline)
        ch = relative_changes(g, baseline, noise)
        # the null control pools one draw per replicate (the first against the others): the design of an operation
        first = ch[ch.set == RANDOM_VS_RANDOM].groupby(["replicate", "score"]).draw.transform("min")
        control = ch[(ch.set == RANDOM_VS_RANDOM)]
        control = control[control.draw == first.loc[control.index]]
        changes.append(pd.concat([control, ch[ch.set != RANDOM_VS_RANDOM]]).assign(**dict(zip(by, key))))
        sigma.append(noise.reset_index()[["score", "sigma_pct"]].assign(**dict(zip(by, key))))
    return pool_evidence(
        pd.concat(changes, ignore_index=True),
        pd.concat(sigma, ignore_index=True),
        worse,
        tested_worse,
        tested_equivalent,
        alpha=alpha,
        margin_sd=margin_sd,
        by=by,
        margins=margins,
    )


def pool_evidence(
    changes: pd.DataFrame,
    sigma: pd.DataFrame,
    worse: dict,
    tested_worse,
    tested_equivalent,
    alpha: float = 0.05,
    margin_sd: float = MARGIN_SD,
    by=(),
    margins: dict | None = None,
    control: str = RANDOM_VS_RANDOM,
) -> pd.DataFrame:
    """The pooling and testing stage of :func:`evidence`, for per-replicate changes from any design.

    ``changes`` has one row per (family, replicate, set, score) with columns ``replicate``, ``set``, ``score``,
    ``change_pct``, ``se_pct``, ``df`` and the columns named in ``by``; ``sigma`` one row per (family, score) with
    ``score``, ``sigma_pct`` (the set noise the margin is made of) and the ``by`` columns. The rows named
    ``control`` are the null control: both tests, unadjusted. Returns what :func:`evidence` returns.
    """
    by, tested_worse, tested_equivalent = list(by), list(tested_worse), list(tested_equivalent)
    out = []
    groups = changes.groupby(by, sort=False) if by else [((), changes)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        sig = sigma
        for col, k in zip(by, key):
            sig = sig[sig[col] == k]
        noise = sig.set_index("score")
        for (name, score), h in g.groupby(["set", "score"], sort=False):
            row = dict(zip(by, key))
            row.update(set=name, score=score, replicates=len(h), sigma_pct=noise.loc[score, "sigma_pct"])
            if "unit" in h:
                row["unit"] = h.unit.iloc[0]
            if not (np.all(h.se_pct > 0) and len(h) > 1):
                row.update(change_pct=float(h.change_pct.mean()), degenerate_=True, reps_=[])
                out.append(row)
                continue
            re = random_effects(h.change_pct, h.se_pct)
            margin = margin_sd * noise.loc[score, "sigma_pct"] if margins is None else float(margins[score])
            half = stats.t.ppf(0.975, re["df"]) * re["se"]
            row.update(
                change_pct=re["estimate"],
                se_pct=re["se"],
                df=re["df"],
                ci_low=re["estimate"] - half,
                ci_high=re["estimate"] + half,
                tau2=re["tau2"],
                margin_pct=margin,
                # worse / better in every replicate (intersection-union: the largest of the replicates' p-values)
                p_worse=max(worse_p(c, e, worse[score], d) for c, e, d in zip(h.change_pct, h.se_pct, h.df)),
                p_better=max(
                    worse_p(c, e, _opposite(worse[score]), d) for c, e, d in zip(h.change_pct, h.se_pct, h.df)
                ),
                p_tost=tost_p(re["estimate"], re["se"], margin, re["df"]),
                degenerate_=False,
                # each replicate's own tests (unadjusted, with the known set noise and its df)
                reps_=[(c, e, d) for c, e, d in zip(h.change_pct, h.se_pct, h.df)],
            )
            out.append(row)
    table = pd.DataFrame(out)
    family = table.set.isin(tested_worse) & ~table.degenerate_.astype(bool)
    for col in ("p_worse", "p_better", "p_tost", "se_pct", "df", "ci_low", "ci_high", "tau2", "margin_pct"):
        if col not in table:
            table[col] = np.nan
    table["p_holm"] = table["p_better_holm"] = np.nan
    if family.any():  # one family: both directions of every tested row (2m one-sided tests)
        both = holm(np.concatenate([table.loc[family, "p_worse"], table.loc[family, "p_better"]]))
        m = int(family.sum())
        table.loc[family, "p_holm"], table.loc[family, "p_better_holm"] = both[:m], both[m:]
    verdicts, agree = [], []
    for r in table.itertuples():
        if r.degenerate_:
            verdicts.append(
                "no test: the score's set noise is undefined (constant, or its baseline is near zero)"
                if not np.isfinite(r.sigma_pct) or r.replicates > 1
                else "no test: one replicate"
            )
            agree.append(np.nan)
            continue
        kinds = (["worse"] if r.set in tested_worse or r.set == control else []) + (
            ["equivalent"] if r.set in tested_equivalent or r.set == control else []
        )
        adjusted = r.set in tested_worse
        direction_worse = r.p_worse <= r.p_better
        verdict = _verdict(
            kinds,
            r.p_holm if adjusted else r.p_worse,
            r.p_better_holm if adjusted else r.p_better,
            r.p_tost,
            direction_worse,
            alpha,
        )
        verdicts.append(verdict)
        own = [
            _verdict(
                kinds,
                worse_p(c, e, worse[r.score], d),
                worse_p(c, e, _opposite(worse[r.score]), d),
                tost_p(c, e, r.margin_pct, d),
                (c > 0) == (worse[r.score] == "higher"),
                alpha,
            )
            for c, e, d in r.reps_
        ]
        agree.append(sum(v == verdict for v in own))
    table["verdict"] = verdicts
    table["agree"] = agree
    return table.drop(columns=["reps_", "degenerate_"])


def _opposite(direction: str) -> str:
    return "lower" if direction == "higher" else "higher"


def paired_bootstrap_changes(
    score_subset, sets, clusters, baseline: str, n_boot: int = 200, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Changes of paired sets against a baseline, with standard errors from a bootstrap over **clusters** (people).

    Every set has the same ``n`` items, item ``i`` of every set coming from the same source (a midpoint and the
    reconstruction of its first endpoint) and belonging to cluster ``clusters[i]`` (the people it was made of).
    Resampling whole clusters with replacement, the same ones for every set, keeps both the pairing and the
    dependence between the faces of one person. Two representations of every change, for :func:`paired_units` to
    choose from:

    - relative: :math:`\Delta = 100\,(s(O)/s(B) - 1)` on all items, its SE the SD of :math:`\Delta^*` over
      resamples, and the set noise :math:`\sigma` = SD of :math:`100\, s(B^*)/s(B)` (how much the baseline's score
      moves between samples of people from the same population: the margin's unit, as :func:`set_noise` is for
      random draws);
    - absolute: :math:`s(O) - s(B)`, SE the SD of :math:`s(O^*) - s(B^*)`, :math:`\sigma` the SD of
      :math:`s(B^*)`, in the score's own units;
    - ``bounded``: whether :math:`s(B)` is bounded away from zero (more than three bootstrap SDs above it); a ratio
      against a baseline that is not (a small set's FID or KID) means nothing;
    - ``df`` = clusters - 1.

    ``score_subset(name, idx)`` returns ``{score: value}`` of set ``name`` on the items ``idx`` (an index array,
    with repeats). Duplicated items make a resample's FID and KID a little larger, the same way for every set.
    Returns ``(changes, sigma)``: rows ``set, score, change_pct, se_pct, change_abs, se_abs, df`` and
    ``score, value, sigma_pct, sigma_abs, bounded``.
    """
    clusters = np.asarray(clusters)
    names = list(sets)
    if baseline not in names:
        raise ValueError(f"the baseline {baseline!r} is not among the sets {names}")
    ids, inverse = np.unique(clusters, return_inverse=True)
    if len(ids) < 2:
        raise ValueError(f"a cluster bootstrap needs at least 2 clusters, got {len(ids)}")
    members = [np.flatnonzero(inverse == c) for c in range(len(ids))]
    full = {name: score_subset(name, np.arange(len(clusters))) for name in names}
    rng = np.random.default_rng(seed)
    boot = {name: [] for name in names}
    for _ in range(n_boot):
        idx = np.concatenate([members[c] for c in rng.integers(0, len(ids), len(ids))])
        for name in names:
            boot[name].append(score_subset(name, idx))
    base = pd.DataFrame(boot[baseline])
    rows, noise = [], []
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero baseline: no relative change (bounded is False)
        for score in full[baseline]:
            b, b_star = full[baseline][score], base[score].to_numpy(float)
            bounded = bool(b > 0 and b > 3 * b_star.std(ddof=1))
            noise.append(dict(score=score, value=b, sigma_pct=float(np.std(100 * b_star / b, ddof=1)),
                              sigma_abs=float(np.std(b_star, ddof=1)), bounded=bounded))  # fmt: skip
            for name in names:
                if name == baseline:
                    continue
                o, o_star = full[name][score], pd.DataFrame(boot[name])[score].to_numpy(float)
                rows.append(
                    dict(
                        set=name,
                        score=score,
                        change_pct=float(100 * (o / b - 1)),
                        se_pct=float(np.std(100 * (o_star / b_star - 1), ddof=1)),
                        change_abs=float(o - b),
                        se_abs=float(np.std(o_star - b_star, ddof=1)),
                        df=len(ids) - 1,
                    )
                )
    return pd.DataFrame(rows), pd.DataFrame(noise)


def paired_units(changes: pd.DataFrame, sigma: pd.DataFrame, by=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Choose one unit per (family, score) for several replicates' :func:`paired_bootstrap_changes`, and pool the
    set noise: relative (``unit`` ``"%"``) where the baseline is bounded away from zero in **every** replicate,
    else the absolute difference (``"abs"``), so that all replicates of a cell are pooled in one unit. The set
    noise is the root mean square of the replicates' (NaN if any is NaN).

    ``changes`` and ``sigma`` carry a ``replicate`` column and the ``by`` columns. Returns ``(changes, sigma)``
    ready for :func:`pool_evidence`: ``change_pct``, ``se_pct`` and ``sigma_pct`` hold the chosen representation,
    ``unit`` says which.
    """
    keys = [*by, "score"]
    unit = sigma.groupby(keys, sort=False).bounded.all().map({True: "%", False: "abs"}).rename("unit").reset_index()
    ch = changes.merge(unit, on=keys, how="left")
    absolute = ch.unit == "abs"
    ch.loc[absolute, "change_pct"] = ch.loc[absolute, "change_abs"]
    ch.loc[absolute, "se_pct"] = ch.loc[absolute, "se_abs"]
    sg = sigma.merge(unit, on=keys, how="left")
    sg["chosen"] = np.where(sg.unit == "abs", sg.sigma_abs, sg.sigma_pct)
    pooled = sg.groupby(keys, sort=False).chosen.agg(lambda v: float(np.sqrt(np.mean(np.square(v)))))
    pooled = pooled.rename("sigma_pct").reset_index().merge(unit, on=keys)
    return ch.drop(columns=["change_abs", "se_abs"]), pooled


def false_positive_rate(values: pd.DataFrame, baseline: str = BASELINE, alpha: float = 0.05, by=()) -> pd.DataFrame:
    """The null control per model: every random-sample draw against the mean of the other draws of its model,
    two-sided t-test at ``alpha`` with the family's set noise estimated *without* that draw (so that the noise
    estimate is independent of the deviation it judges; R (K - 1) - 1 df). Returns per score ``tests``,
    ``rejected`` and ``rate`` (nominal: ``alpha``).
    """
    by = list(by)
    rows = []
    groups = values.groupby(by, sort=False) if by else [((), values)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        ch = relative_changes(g, baseline)
        ch = ch[(ch.set == RANDOM_VS_RANDOM) & (ch.se_pct > 0)]
        for score, h in ch.groupby("score", sort=False):
            p = 2 * stats.t.sf(np.abs(h.change_pct / h.se_pct), h.df)
            row = dict(zip(by, key))
            row.update(score=score, tests=len(h), rejected=int((p < alpha).sum()))
            row["rate"] = row["rejected"] / row["tests"]
            rows.append(row)
    return pd.DataFrame(rows)


def verdict_table(
    ev: pd.DataFrame,
    values: pd.DataFrame,
    sets,
    scores,
    real: str = "real data",
    baseline: str = BASELINE,
    control: str = RANDOM_VS_RANDOM,
) -> pd.DataFrame:
    """One row per set, one column per score, as the paper's Table 2 with replicates: the real data's and the
    ``baseline``'s values (mean over the rows of ``values``, ± the set noise), then every other set's pooled change
    (%) with its 95% interval and its verdict.
    """
    cells = {}
    for score in scores:
        v = values[values.score == score]
        real_v = v[v.set == real].value
        if len(real_v):
            cells[(real, score)] = f"{real_v.mean():.4g}"
        base = v[v.set == baseline].value
        sigma = ev[ev.score == score].sigma_pct
        unit = "" if "unit" in ev and (ev[ev.score == score].unit == "abs").any() else "%"
        if len(base):
            noise = f" (±{sigma.iloc[0]:.2g}{unit})" if len(sigma) else ""
            cells[(baseline, score)] = f"{base.mean():.4g}{noise}"
        for r in ev[ev.score == score].itertuples():
            if getattr(r, "unit", "%") == "abs":  # a difference in the score's units (baseline near zero)
                cells[(r.set, score)] = f"{r.change_pct:+.3g} [{r.ci_low:+.3g}, {r.ci_high:+.3g}] (diff.) {r.verdict}"
            else:
                cells[(r.set, score)] = f"{r.change_pct:+.1f}% [{r.ci_low:+.1f}, {r.ci_high:+.1f}] {r.verdict}"
    rows = [name for name in [real, baseline, control, *sets] if any((name, s) in cells for s in scores)]
    rows = list(dict.fromkeys(rows))
    return pd.DataFrame(
        [[cells.get((name, s), "") for s in scores] for name in rows],
        index=pd.Index(rows, name="set"),
        columns=list(scores),
    )
