r"""Latent operations on *encoded* held-out images, scored paired against reconstructions (notebooks 07 and 09).

For an auto-encoder with encoder :math:`E` and decoder :math:`G`, held-out images of ``k`` different people
(:func:`otlatent.trained.person_tuples`) give the codes :math:`z_1, \dots, z_k`; every midpoint set (linear,
SLERP, matched, matched about the average code :math:`m`, and any extra operation) is decoded and compared with
:math:`G(z_1)`, the **reconstructions of the first faces**, on the same groups of people: a paired design with a
bootstrap over groups of people (:func:`otlatent.metrics.paired_bootstrap_changes`), one unit per cell across
replicate models (:func:`~otlatent.metrics.paired_units`) and the pooled verdicts of
:func:`~otlatent.metrics.pool_evidence`. The reconstructions of the second faces, :math:`G(z_2)`, have the law of
the baseline: the null control.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from . import explore, metrics, results_cache
from .data import to_uint8
from .trained import person_tuples

__all__ = ["RECON", "OTHER", "encoded_sets", "encoded_family"]

#: The baseline of every encoded set and its null control.
RECON, OTHER = "reconstructions", "reconstructions, second faces"


def encoded_sets(
    decode: Callable, codes: torch.Tensor, ends: np.ndarray, prior, centre=None, extra: Callable | None = None
) -> dict[str, np.ndarray]:
    """Decoded sets (uint8) for midpoints of the codes ``codes[ends]`` (``ends`` (k, n) indices into ``codes``):
    :data:`RECON` and :data:`OTHER`, then ``"<k>-point <method>"`` for every variant of
    :func:`otlatent.explore.midpoints` (with ``"centred matched"`` about ``centre``) and of ``extra(z)``, a function
    of the endpoint codes (k, n, d) returning further ``{method: latents}``.
    """
    z = codes[torch.from_numpy(ends)]  # (k, n, d)
    mids = explore.midpoints(z, prior, centre=centre)
    if extra is not None:
        mids = mids | extra(z)
    latents = {RECON: z[0], OTHER: z[1]} | {f"{len(ends)}-point {name}": v for name, v in mids.items()}
    return {name: to_uint8(decode(v)) for name, v in latents.items()}


def encoded_family(
    models: Sequence[dict],
    person,
    features: Callable,
    reference: dict,
    scores: Sequence[str],
    tested_worse: Sequence[str],
    tested_equivalent: Sequence[str],
    n_boot: int,
    seed: int = 0,
    prior="gaussian",
    ks: Sequence[int] = (2, 4),
    real_images=None,
    scores_of: Callable | None = None,
    cache=None,
    scorer_key: str | None = None,
) -> dict:
    """Score every encoded midpoint set of replicate models against the reconstructions, paired by people.

    Parameters
    ----------
    models : list of dict
        One per replicate: ``decode`` (latents -> images in [-1, 1]), ``codes`` (N, d) of the held-out images of
        this family, and optionally ``centre`` (the average training code) and ``extra`` (see :func:`encoded_sets`).
    person : array (N,)
        The person of every held-out image (its own index where images have no person).
    features : callable
        uint8 images -> the scorer's features ``{"pool": ..., ...}`` (for :func:`otlatent.metrics.set_scores`).
    reference : dict
        The reference features of FID and KID.
    scores : list of str
        The scores kept for the verdicts.
    tested_worse, tested_equivalent : list of str
        The sets tested for "worse" and for equivalence (:func:`otlatent.metrics.pool_evidence`).
    n_boot, seed : int
        Bootstrap resamples of groups of people; the people are grouped with ``seed + k`` and replicate ``r``
        resamples with ``seed + r``.
    real_images, scores_of : optional
        Held-out images (uint8, N) and a function scoring a uint8 set: the real-data row, the first faces' images.
    cache, scorer_key : folder and str, optional
        Keep every replicate's bootstrap tables in the folder ``cache`` (:func:`otlatent.results_cache.cached_tables`,
        as ``<model name>_encoded<k>_<key>_{changes,sigma}.csv``; each model then needs a ``name``, its run name),
        keyed by the decoded sets themselves, the groups, ``n_boot``, the seed and ``scorer_key``, which must name
        the feature space and the reference (:attr:`otlatent.families.Scorer.key`). A rerun decodes the sets again
        (cheap) and reads the bootstrap back.

    Returns
    -------
    dict
        ``changes`` and ``sigma`` (per replicate and cell), ``ev`` (the pooled verdicts, by ``midpoint``),
        ``galleries`` ``{k: sets of replicate 0}``, ``real_rows`` (a DataFrame) and ``groups``
        ``{k: (midpoints, groups of people)}``.
    """
    if cache is not None and (scorer_key is None or any("name" not in m for m in models)):
        raise ValueError("cached scores need scorer_key= (the scorer's key) and a name (run name) for every model")
    person = np.asarray(person)
    changes, sigma, galleries, real_rows, groups = [], [], {}, [], {}
    for k in ks:
        ends, group = person_tuples(person, k, seed=seed + k)
        groups[k] = (ends.shape[1], len(np.unique(group)))
        if real_images is not None and scores_of is not None:
            real_rows += [
                dict(midpoint=f"{k}-point", set="real faces", score=sc, value=v)
                for sc, v in scores_of(real_images[ends[0]]).items()
            ]
        for r, model in enumerate(models):
            sets = encoded_sets(model["decode"], model["codes"], ends, prior, model.get("centre"), model.get("extra"))

            def bootstrap(sets=sets, r=r):
                feats = {name: features(x) for name, x in sets.items()}

                def score_subset(name, sub):
                    return metrics.set_scores(
                        {"pool": feats[name]["pool"][sub]}, sets[name][sub], reference, inception_score_=False
                    )

                return metrics.paired_bootstrap_changes(score_subset, sets, group, RECON, n_boot=n_boot, seed=seed + r)

            ident = dict(kind="encoded_family", sets=sets, names=list(sets), group=group, baseline=RECON,
                         n_boot=n_boot, seed=seed + r, scorer=scorer_key)  # fmt: skip
            c, s = results_cache.cached_tables(cache, f"{model.get('name')}_encoded{k}", ident, bootstrap,
                                               parts=("changes", "sigma"))  # fmt: skip
            changes.append(c.assign(midpoint=f"{k}-point", replicate=r))
            sigma.append(s.assign(midpoint=f"{k}-point", replicate=r))
            if r == 0:
                galleries[k] = sets
    sigma = pd.concat(sigma)
    changes, pooled = metrics.paired_units(pd.concat(changes), sigma, by=["midpoint"])
    changes = changes[changes.score.isin(scores)]
    ev = metrics.pool_evidence(
        changes,
        pooled,
        metrics.WORSE,
        tested_worse=list(tested_worse),
        tested_equivalent=list(tested_equivalent),
        by=["midpoint"],
        control=OTHER,
    )
    return dict(
        changes=changes, sigma=sigma, ev=ev, galleries=galleries, real_rows=pd.DataFrame(real_rows), groups=groups
    )
