r"""Which model families the distribution mismatch hurts (notebook 10): one scorer for every model, each model's fit
quality and mismatch sensitivity, and rank tests of how the two go together.

For a model with decoder (generator) :math:`G` and prior :math:`p_z`, in one feature space :math:`\phi` and
against one held-out reference set :math:`R`:

- **fit quality** is :math:`\mathrm{FID}(G(z), R)`, :math:`z \sim p_z` (lower: closer to real data), the mean over
  the random-sample draws of the replicated Table 2 (:func:`otlatent.explore.table2_values`);
- **mismatch sensitivity** of a set :math:`S` of midpoints is its change against the random samples, relative,
  :math:`100\,(\mathrm{FID}(S) / \mathrm{FID}(G(z)) - 1)` %, and absolute, :math:`\mathrm{FID}(S) -
  \mathrm{FID}(G(z))`. The relative change of a model that fits better is divided by a smaller FID, so it is larger
  for the same absolute change: the two are reported side by side.

The source report's hypothesis, "the impact that distribution mismatch has on the result depends on how well the
generator is fitted", predicts a negative rank correlation between fit FID and sensitivity (better fit, lower FID,
larger drop): :func:`rank_association` across models, :func:`within_unit_association` along the training of one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats
from torchvision.transforms.functional import resize

from . import explore, metrics, results_cache
from .explore import decoder_of  # noqa: F401  (part of this module's interface: a model's decoder)

__all__ = [
    "Scorer",
    "decoder_of",
    "model_values",
    "fit_and_sensitivity",
    "family_summary",
    "rank_association",
    "within_unit_association",
]


class Scorer:
    """Every score of notebook 06 (:func:`otlatent.metrics.set_scores`) in the feature space of ``clf``, against the
    held-out real images ``reference_u8``; images of another size are resized (antialiased) to the classifier's.

    ``key`` names the classifier and a fingerprint of the reference, so that cached values
    (:func:`model_values`) are never reused with another scorer.
    """

    def __init__(self, clf, reference_u8, splits: int, inception_score_: bool = False):
        self.clf, self.splits, self.inception_score_ = clf, splits, inception_score_
        self.side = clf.config.resolution
        self.reference = self.features(reference_u8)
        digest = hashlib.sha1(np.ascontiguousarray(reference_u8).tobytes()).hexdigest()[:10]
        self.key = f"{clf.config.name}_ref{len(reference_u8)}-{digest}_splits{splits}"

    def features(self, images_u8) -> torch.Tensor:
        x = torch.as_tensor(images_u8)
        if x.shape[-1] != self.side or x.shape[-2] != self.side:
            x = resize(x, [self.side, self.side], antialias=True)
        return self.clf.features(x)

    def __call__(self, images_u8) -> dict:
        return metrics.set_scores(self.features(images_u8), images_u8, self.reference, splits=self.splits,
                                  inception_score_=self.inception_score_)  # fmt: skip


def model_values(
    name: str,
    decode,
    prior,
    d: int,
    scorer: Scorer,
    n: int,
    draws: int,
    seed: int,
    replicate: int = 0,
    sets=explore.MIDPOINT_SETS,
    cache: str | Path | None = None,
    weights: str | Path | None = None,
) -> pd.DataFrame:
    """:func:`otlatent.explore.table2_values` of one model as a table (``set``, ``draw``, ``score``, ``value``),
    cached in the folder ``cache`` as CSV under a key of everything that determines it (the model's ``name``, the
    SHA-256 of its saved ``weights`` file if given — a retrained model of the same name is scored again —,
    ``scorer.key``, prior, sizes, seed, replicate, sets). The file is written atomically; a cached table is read back
    instead of decoding and scoring again.
    """
    ident = dict(model=name, scorer=scorer.key, prior=str(prior), d=d, n=n, draws=draws, seed=seed,
                 replicate=replicate, sets=list(sets))  # fmt: skip
    if weights is not None:
        ident["weights"] = results_cache.fingerprint(Path(weights))  # SHA-256 of the file

    def compute():
        rows = explore.table2_values(decode, scorer, prior, n, d, draws, seed, replicate, sets)
        return pd.DataFrame(rows, columns=["set", "draw", "score", "value"])

    return results_cache.cached_tables(cache, name, ident, compute)


def fit_and_sensitivity(
    values: pd.DataFrame, by=("family", "replicate"), score: str = "FID", sets=None
) -> pd.DataFrame:
    """Per model (the columns ``by``): ``fit``, the mean ``score`` of its random-sample draws, then for each midpoint
    set (default: every set but the random samples) ``"<set> %"`` (relative change against ``fit``) and
    ``"<set> diff"`` (absolute change), from a long table like :func:`model_values`'s with the ``by`` columns.
    """
    v = values[values.score == score]
    sets = [s for s in v.set.unique() if s != metrics.BASELINE] if sets is None else list(sets)
    rows = []
    for key, g in v.groupby(list(by), sort=False):
        base = g[g.set == metrics.BASELINE].value
        if base.empty:
            raise ValueError(f"{dict(zip(by, np.atleast_1d(key)))} has no {metrics.BASELINE!r} rows")
        fit = float(base.mean())
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)), fit=fit)
        for s in sets:
            value = g[g.set == s].value.mean()
            row[f"{s} %"] = 100 * (value / fit - 1)
            row[f"{s} diff"] = value - fit
        rows.append(row)
    return pd.DataFrame(rows)


def family_summary(per_model: pd.DataFrame, family: str = "family", level: float = 0.95) -> pd.DataFrame:
    r"""Mean and ``level`` Student-t interval over the replicates of each family, for every numeric column of
    :func:`fit_and_sensitivity`'s table: columns ``(<column>, "mean" | "low" | "high")``, plus ``replicates``.

    Quantities that are positive by construction are summarised on the log scale, so that no interval leaves their
    range: ``fit`` by its geometric mean, :math:`\exp(\overline{\log x} \pm t\, s_{\log x}/\sqrt R)`, and the
    relative changes (``"... %"``) through the ratio :math:`1 + c/100` (a geometric mean ratio, shown again in %).
    Absolute changes (``"... diff"``) get the plain t interval.
    """
    cols = [
        c for c in per_model.columns if c not in (family, "replicate") and np.issubdtype(per_model[c].dtype, np.number)
    ]
    out = {}
    for name, g in per_model.groupby(family, sort=False):
        row = {("replicates", ""): len(g)}
        for c in cols:
            x = g[c].to_numpy(float)
            to, back = (np.log, np.exp) if c == "fit" else (None, None)
            if c.endswith(" %"):
                to, back = (lambda v: np.log1p(v / 100)), (lambda u: 100 * np.expm1(u))
            u = to(x) if to else x
            m = u.mean()
            h = stats.t.ppf(0.5 + level / 2, len(u) - 1) * u.std(ddof=1) / np.sqrt(len(u)) if len(u) > 1 else np.nan
            lo, mid, hi = m - h, m, m + h
            if back:
                lo, mid, hi = back(lo), back(mid), back(hi)
            row.update({(c, "mean"): mid, (c, "low"): lo, (c, "high"): hi})
        out[name] = row
    table = pd.DataFrame.from_dict(out, orient="index")
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    table.index.name = family
    return table


def rank_association(x, y, alternative: str = "less", n_resamples: int = 100_000, seed: int = 0) -> dict:
    r"""Spearman's :math:`\rho` between ``x`` and ``y`` with a permutation p-value (exact, over all :math:`n!`
    pairings, when there are at most ``n_resamples`` of them; :func:`scipy.stats.permutation_test`).
    ``alternative``: ``"less"`` (negative association predicted), ``"greater"`` or ``"two-sided"``.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError(f"x and y must be 1-D of one length >= 3, got {x.shape} and {y.shape}")
    res = stats.permutation_test((x,), lambda a: stats.spearmanr(a, y).statistic, permutation_type="pairings",
                                 alternative=alternative, n_resamples=n_resamples, random_state=seed)  # fmt: skip
    return dict(rho=float(res.statistic), p=float(res.pvalue), n=len(x),
                exact=bool(np.prod(np.arange(1, len(x) + 1, dtype=float)) <= n_resamples))  # fmt: skip


def within_unit_association(
    table: pd.DataFrame, unit, x: str, y: str, alternative: str = "less", n_resamples: int = 9_999, seed: int = 0
) -> dict:
    r"""The mean over units (e.g. training runs) of Spearman's :math:`\rho` between ``x`` and ``y`` within each unit,
    with a permutation p-value that shuffles ``x`` **within** each unit: a repeated-measures rank test in which only
    the ordering inside a unit is evidence, never the differences between units.

    Returns ``rho`` (the mean), ``per_unit`` (``{unit: rho}``), ``p`` (Monte Carlo, ``(1 + #null as extreme) / (1 +
    n_resamples)``), ``units``.
    """
    groups = [(k, g[x].to_numpy(float), g[y].to_numpy(float)) for k, g in table.groupby(unit, sort=False)]
    groups = [(k, a, b) for k, a, b in groups if len(a) >= 3]
    if not groups:
        raise ValueError(f"no unit of {unit!r} has 3 or more rows")

    def rho(a, b):
        return stats.spearmanr(a, b).statistic

    per_unit = {k: float(rho(a, b)) for k, a, b in groups}
    observed = float(np.mean(list(per_unit.values())))
    rng = np.random.default_rng(seed)
    null = np.array([np.mean([rho(rng.permutation(a), b) for _, a, b in groups]) for _ in range(n_resamples)])
    if alternative == "less":
        extreme = null <= observed + 1e-12
    elif alternative == "greater":
        extreme = null >= observed - 1e-12
    elif alternative == "two-sided":
        extreme = np.abs(null) >= abs(observed) - 1e-12
    else:
        raise ValueError(f"alternative must be 'less', 'greater' or 'two-sided', got {alternative!r}")
    return dict(rho=observed, per_unit=per_unit, p=float((1 + extreme.sum()) / (1 + n_resamples)), units=len(groups))
