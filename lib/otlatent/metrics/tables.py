"""One table of scores for several sample sets against a baseline, the paper's Table 2 layout, the paper's two
claims read off it, and means with bootstrap intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..runtime import torch_threads
from .distances import fid_from_stats, fid_terms, frechet_distance, kernel_distance, mmd2_unbiased, moments
from .image_statistics import image_statistics
from .inception import inception_score, split_mean_is
from .resampling import bootstrap_ci, holm_by_score, kid_permutation_test, permutation_test

__all__ = ["set_scores", "score_sets", "WORSE", "paper_style_table", "verdicts", "mean_ci_table"]


def set_scores(
    features: dict | None,
    images_u8=None,
    reference: dict | None = None,
    *,
    splits: int = 10,
    inception_score_: bool = True,
) -> dict[str, float]:
    """Every score of one image set, each on **all** its images: the values the replicated design of
    :mod:`~otlatent.metrics.equivalence` compares.

    - ``IS``: split-mean inception score over ``splits`` splits (``features["logits"]``; when ``inception_score_``);
    - ``FID`` (and its terms ``FID mean``, ``FID covariance``: :func:`~otlatent.metrics.distances.fid_terms`) and
      ``KID``, the full-set unbiased MMD^2 with KID's kernel, against ``reference["pool"]``;
    - ``sharpness``, ``contrast`` and (colour images) ``saturation``: the means of
      :func:`~otlatent.metrics.image_statistics` over ``images_u8``.
    """
    out = {}
    with torch_threads(1):
        if features is not None and inception_score_:
            out["IS"] = inception_score(logits=torch.as_tensor(features["logits"]).double(), splits=splits)["mean"]
        if features is not None and reference is not None:
            terms = fid_terms(features["pool"], reference["pool"])
            out.update({"FID": terms["fid"], "FID mean": terms["mean"], "FID covariance": terms["covariance"]})
            out["KID"] = mmd2_unbiased(features["pool"], reference["pool"])
        if images_u8 is not None:
            st = image_statistics(images_u8).mean()
            out.update({k: float(v) for k, v in st.items() if np.isfinite(v)})
    return out


def score_sets(
    sets: dict,
    reference: dict | None = None,
    baseline: str | None = None,
    *,
    splits: int = 10,
    n_boot: int = 200,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    inception_score_: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Scores of several sets of generated samples, each compared with ``baseline`` (the random samples).

    ``sets`` maps a row name to features ``{"logits": (N, K), "pool": (N, D)}`` (from
    :meth:`otlatent.classifier.TrainedClassifier.features`); ``reference`` holds the real images' features
    (FID and KID need it).  Returns a long table, one row per (set, score), with columns

    - ``value``: IS split mean (torch-fidelity protocol), FID, KID mean over subsets;
    - ``std``: IS population std over splits, KID std over subsets (FID: none);
    - ``ci_low``, ``ci_high``: 95% percentile bootstrap interval over the samples (IS: of the split mean;
      FID: resampling generated and reference features; KID: none, see ``std``);
    - ``rel_change_pct``: 100 (value / baseline value - 1);
    - ``p_value``: two-sided permutation test against the baseline set (IS: split-mean IS; FID: FID to the
      reference; KID: full-set unbiased MMD^2 to the reference), ``n_boot`` relabellings;
    - ``p_holm``: Holm-adjusted over the non-baseline sets, per score.
    """
    names = list(sets)
    baseline = baseline or names[0]
    rows = []
    from tqdm import tqdm

    bar = tqdm(total=len(names), disable=not progress, desc="scores", unit="set")
    ref_pool = None if reference is None else torch.as_tensor(reference["pool"]).double()
    if ref_pool is not None:
        ref_mu, ref_cov = moments(ref_pool)

    def fid_to_ref(x):
        return fid_from_stats(*moments(x), ref_mu, ref_cov)

    with torch_threads(1):
        for k, name in enumerate(names):
            rows += _score_one(
                sets,
                name,
                baseline,
                ref_pool,
                fid_to_ref,
                splits,
                n_boot,
                kid_subsets,
                kid_subset_size,
                inception_score_,
                seed + k,
            )
            bar.update(1)
    bar.close()
    table = pd.DataFrame(rows)
    basevals = table[table.set == baseline].set_index("score")["value"]
    table["rel_change_pct"] = 100 * (table["value"] / table["score"].map(basevals) - 1)
    holm_by_score(table, baseline)
    return table[["set", "score", "value", "std", "ci_low", "ci_high", "rel_change_pct", "p_value", "p_holm"]]


def _score_one(
    sets, name, baseline, ref_pool, fid_to_ref, splits, n_boot, kid_subsets, kid_subset_size, inception_score_, rng_seed
) -> list[dict]:
    """The rows of :func:`score_sets` for one set."""
    rows = []
    f = sets[name]
    base = sets[baseline]
    if inception_score_:
        logits = torch.as_tensor(f["logits"]).double()
        isc = inception_score(logits=logits, splits=splits)
        lp = logits.log_softmax(1)
        lo, hi = bootstrap_ci(lp, lambda x: split_mean_is(x, splits), n_boot, seed=rng_seed + 11)
        p = np.nan
        if name != baseline:
            blp = torch.as_tensor(base["logits"]).double().log_softmax(1)
            p = permutation_test(blp, lp, lambda x: split_mean_is(x, splits), n_boot, seed=rng_seed + 13)["p"]
        rows.append(dict(set=name, score="IS", value=isc["mean"], std=isc["std"], ci_low=lo, ci_high=hi, p_value=p))
    if ref_pool is not None:
        pool = torch.as_tensor(f["pool"]).double()
        fid = frechet_distance(pool, ref_pool)
        gen = np.random.default_rng(rng_seed + 17)
        boots = []
        for _ in range(n_boot):
            i = torch.from_numpy(gen.integers(0, len(pool), len(pool)))
            j = torch.from_numpy(gen.integers(0, len(ref_pool), len(ref_pool)))
            boots.append(fid_from_stats(*moments(pool[i]), *moments(ref_pool[j])))
        lo, hi = np.quantile(boots, [0.025, 0.975])
        p = np.nan
        if name != baseline:
            p = permutation_test(torch.as_tensor(base["pool"]).double(), pool, fid_to_ref, n_boot, seed=rng_seed + 19)[
                "p"
            ]
        rows.append(dict(set=name, score="FID", value=fid, std=np.nan, ci_low=float(lo), ci_high=float(hi), p_value=p))
        size = min(kid_subset_size, len(pool), len(ref_pool))
        kid = kernel_distance(pool, ref_pool, kid_subsets, size, seed=2020)
        p = np.nan
        if name != baseline:
            p = kid_permutation_test(
                ref_pool, torch.as_tensor(base["pool"]).double(), pool, n_boot, seed=rng_seed + 23
            )["p"]
        rows.append(
            dict(set=name, score="KID", value=kid["mean"], std=kid["std"], ci_low=np.nan, ci_high=np.nan, p_value=p)
        )
    return rows


#: Direction in which each score gets worse.
WORSE = {
    "IS": "lower",
    "FID": "higher",
    "KID": "higher",
    "sharpness": "lower",
    "contrast": "lower",
    "saturation": "lower",
    "FID mean": "higher",
    "FID covariance": "higher",
}
#: The same scores in torch-fidelity's Inception-v3 feature space (notebook 06, when the weights are found).
WORSE.update({f"{k} (Inception)": WORSE[k] for k in ("IS", "FID", "KID", "FID mean", "FID covariance")})


def paper_style_table(long: pd.DataFrame, sets=None, scores=None, alpha: float = 0.05) -> pd.DataFrame:
    """The long table of :func:`score_sets` / :func:`compare_statistics` as one row per set and one column per
    score, each cell ``value ± std (Δ%)`` as in the paper's Table 2 (FID: ``value [95% CI]``); ``*`` marks a
    change whose Holm-adjusted p-value is below ``alpha``.
    """
    sets = list(dict.fromkeys(long.set)) if sets is None else list(sets)
    scores = list(dict.fromkeys(long.score)) if scores is None else list(scores)
    cells = {}
    for _, r in long.iterrows():
        text = f"{r.value:.4g}"
        if "std" in r and np.isfinite(r.get("std", np.nan)):
            text += f" ± {r['std']:.2g}"
        elif np.isfinite(r.get("ci_low", np.nan)):
            text += f" [{r.ci_low:.4g}, {r.ci_high:.4g}]"
        if np.isfinite(r.get("p_value", np.nan)):
            star = "*" if r.p_holm < alpha else ""
            text += f" ({r.rel_change_pct:+.1f}%{star})"
        cells[(r.set, r.score)] = text
    return pd.DataFrame(
        [[cells.get((s, c), "") for c in scores] for s in sets], index=pd.Index(sets, name="set"), columns=scores
    )


def verdicts(long: pd.DataFrame, matched, linear, scores=("IS", "FID", "KID"), alpha: float = 0.05) -> pd.DataFrame:
    """The paper's two claims, checked on one model's long table, per set.

    - a *matched* set is "indistinguishable" from the random samples on a score when its **unadjusted**
      p-value is at least ``alpha`` (the harder form of that claim: no correction that would make it easier);
    - a *linear* set is "significantly worse" on a score when its **Holm-adjusted** p-value is below ``alpha``
      and it moved in the score's worse direction (:data:`WORSE`).

    Returns one row per (set, score) with ``claim``, ``holds``, ``rel_change_pct``, ``p_value``, ``p_holm``.
    Failing to reject is not equivalence: the confidence intervals say how large a difference the data allow.
    """
    rows = []
    for _, r in long[long.score.isin(scores)].iterrows():
        if r.set in matched:
            rows.append(
                dict(
                    set=r.set,
                    score=r.score,
                    claim="indistinguishable from random samples",
                    holds=bool(r.p_value >= alpha),
                )
            )
        elif r.set in linear:
            worse = r.rel_change_pct < 0 if WORSE[r.score] == "lower" else r.rel_change_pct > 0
            rows.append(
                dict(
                    set=r.set,
                    score=r.score,
                    claim="significantly worse than random samples",
                    holds=bool(r.p_holm < alpha and worse),
                )
            )
        else:
            continue
        rows[-1].update(rel_change_pct=r.rel_change_pct, p_value=r.p_value, p_holm=r.p_holm)
    return pd.DataFrame(rows)


def mean_ci_table(
    df: pd.DataFrame, by, columns, n_boot: int = 200, level: float = 0.95, seed: int = 0, cluster: str | None = None
) -> pd.DataFrame:
    """Mean of each of ``columns`` per group of ``by``, with a percentile bootstrap interval over the rows
    (over the clusters named by column ``cluster`` when given: see :func:`bootstrap_ci`).

    Returns one row per group with ``<col>``, ``<col>_lo``, ``<col>_hi`` and ``n``.
    """
    rows = []
    for key, group in df.groupby(by, sort=False):
        row = dict(zip([by] if isinstance(by, str) else by, key if isinstance(key, tuple) else (key,)))
        for k, col in enumerate(columns):
            values = torch.tensor(group[col].to_numpy(dtype=np.float64, copy=True))
            lo, hi = bootstrap_ci(
                values,
                lambda v: float(v.mean()),
                n_boot,
                level,
                seed + k,
                groups=None if cluster is None else group[cluster].to_numpy(),
            )
            row.update({col: float(values.mean()), f"{col}_lo": lo, f"{col}_hi": hi})
        row["n"] = len(group)
        rows.append(row)
    return pd.DataFrame(rows)
