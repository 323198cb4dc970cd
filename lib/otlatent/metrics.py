"""Sample-quality measures.

- Image statistics that capture the paper's qualitative claim (midpoints of linear
  interpolation look blurrier and less saturated), computed per image so that two
  sets of images can be compared with a two-sample test (:func:`image_statistics`,
  :func:`compare_statistics`).
- The inception score (IS) from class logits or probabilities (:func:`inception_score`),
  with torch-fidelity's protocol; the literature's IS through torch-fidelity's Inception-v3
  when its weights are here (:func:`inception_status`, :func:`fidelity_metrics`).
- FID and KID on any features, by torch-fidelity's own functions (:func:`frechet_distance`,
  :func:`kernel_distance`).
- Uncertainty: bootstrap intervals, permutation tests against the random samples, Holm's
  correction (:func:`score_sets` assembles one table).
- Reconstruction fidelity against clean images: MSE, PSNR and SSIM per image, by torchmetrics
  (:func:`reconstruction_quality`), and means with bootstrap intervals (:func:`mean_ci_table`).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .config import data_root
from .data import to_unit

__all__ = ["image_statistics", "LAPLACIAN", "inception_score", "inception_status", "inception_weights_candidates",
           "INCEPTION_WEIGHTS_FILE", "U8Images", "fidelity_metrics", "frechet_distance", "kernel_distance",
           "mmd2_unbiased", "holm", "permutation_test", "bootstrap_ci", "kid_permutation_test", "score_sets",
           "compare_statistics", "torch_threads", "WORSE", "paper_style_table", "verdicts", "reconstruction_quality",
           "mean_ci_table", "PSNR_CAP"]

#: The 3x3 discrete Laplacian used for sharpness.
LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def image_statistics(images) -> pd.DataFrame:
    """Per-image statistics of a batch (N, C, H, W), float in [-1, 1] or uint8.

    Columns (intensities in [0, 1]; luminance L = 0.299 R + 0.587 G + 0.114 B):

    - ``saturation``: mean HSV saturation (max - min) / max over pixels (RGB only, NaN for grey images);
    - ``contrast``: standard deviation of L over the image;
    - ``sharpness``: mean squared response of L to the 3x3 Laplacian (high-frequency energy).
    """
    x = to_unit(images)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 1 or 3, H, W), got {tuple(x.shape)}")
    if x.shape[1] == 3:
        lum = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
        mx, mn = x.max(1).values, x.min(1).values
        sat = torch.where(mx > 1e-6, (mx - mn) / mx.clamp_min(1e-6), torch.zeros_like(mx)).mean((1, 2)).numpy()
    else:
        lum = x[:, 0]
        sat = np.full(len(x), np.nan)
    lap = F.conv2d(lum[:, None], LAPLACIAN[None, None], padding=0)
    return pd.DataFrame({
        "saturation": sat,
        "contrast": lum.flatten(1).std(1).numpy(),
        "sharpness": lap.pow(2).mean((1, 2, 3)).numpy(),
    })


# --------------------------------------------------------------------------- inception score


def inception_score(logits=None, probs=None, splits: int = 10, shuffle: bool = True,
                    rng_seed: int = 2020) -> dict:
    """Inception score of Salimans et al. (2016) from class logits or class probabilities (N, K).

    .. math::  \\mathrm{IS} = \\exp\\big(\\mathbb{E}_x\\,\\mathrm{KL}(p(y\\mid x)\\,\\|\\,p(y))\\big),
               \\qquad p(y) = \\mathbb{E}_x\\,p(y\\mid x),

    computed in float64 on each of ``splits`` consecutive chunks of the (optionally shuffled) samples
    (chunk ``i`` holds samples ``i N // splits`` to ``(i + 1) N // splits``), with ``p(y)`` estimated within
    the chunk.  The protocol of torch-fidelity (``metric_isc.py``): shuffle with
    ``numpy.random.RandomState(rng_seed)``, 10 splits, mean and *population* std (ddof 0) over splits.

    Returns ``{"mean", "std", "scores"}`` (``scores``: one per split).  IS lies in [1, K]: 1 when every
    sample gets the same distribution, K when predictions are confident and spread evenly over K classes.
    """
    if (logits is None) == (probs is None):
        raise ValueError("pass exactly one of logits= or probs=")
    x = torch.as_tensor(logits if logits is not None else probs).detach().cpu().double()
    if x.ndim != 2 or len(x) < splits or splits < 1:
        raise ValueError(f"need (N, K) with N >= splits >= 1, got shape {tuple(x.shape)} and splits={splits}")
    if shuffle:
        x = x[np.random.RandomState(rng_seed).permutation(len(x))]
    if logits is not None:
        log_p = x.log_softmax(1)
        p = log_p.exp()
    else:
        if (x < 0).any() or not torch.allclose(x.sum(1), torch.ones(len(x), dtype=x.dtype), atol=1e-6):
            raise ValueError("probs must be non-negative rows summing to 1")
        p = x / x.sum(1, keepdim=True)
        log_p = None
    n = len(x)
    scores = []
    for i in range(splits):
        sl = slice(i * n // splits, (i + 1) * n // splits)
        pc = p[sl]
        py = pc.mean(0, keepdim=True)
        if log_p is not None:
            kl = (pc * (log_p[sl] - py.log())).sum(1)
        else:  # 0 log 0 = 0
            kl = (torch.special.xlogy(pc, pc) - torch.special.xlogy(pc, py.expand_as(pc))).sum(1)
        scores.append(float(kl.mean().exp()))
    scores = np.asarray(scores)
    return {"mean": float(scores.mean()), "std": float(scores.std()), "scores": scores}


def _split_mean_is(log_p: torch.Tensor, splits: int) -> float:
    """Mean over consecutive splits of exp(E KL) from log-probabilities (no shuffle; for resampling loops)."""
    n = len(log_p)
    if n % splits == 0:
        lp = log_p.reshape(splits, n // splits, -1)
        p = lp.exp()
        log_py = p.mean(1, keepdim=True).log()
        return float((p * (lp - log_py)).sum(2).mean(1).exp().mean())
    p = log_p.exp()
    total = 0.0
    for i in range(splits):
        sl = slice(i * n // splits, (i + 1) * n // splits)
        py = p[sl].mean(0, keepdim=True)
        total += float((p[sl] * (log_p[sl] - py.log())).sum(1).mean().exp())
    return total / splits


# --------------------------------------------------------------------------- the Inception network


#: File name of torch-fidelity's TF-ported Inception-v3 weights (``inception-2015-12-05``).
INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_ENV = "OTLATENT_INCEPTION_WEIGHTS"
DOWNLOAD_ENV = "OTLATENT_ALLOW_DOWNLOAD"


def inception_weights_candidates() -> list[Path]:
    """Where the Inception weights are looked for, in order: ``$OTLATENT_INCEPTION_WEIGHTS``,
    ``<data root>/weights/<file>``, and torch hub's checkpoint folder (where torch-fidelity downloads to)."""
    out = []
    env = os.environ.get(INCEPTION_ENV)
    if env:
        out.append(Path(env).expanduser())
    out.append(data_root() / "weights" / INCEPTION_WEIGHTS_FILE)
    out.append(Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILE)
    return out


def inception_status(allow_download: bool | None = None) -> dict:
    """Whether the literature's inception score can be computed here, and how.

    Returns ``{"available", "weights_path", "download", "reason"}``.  Local weights (see
    :func:`inception_weights_candidates`) are used first.  Without them the score is available only when
    downloading is allowed: ``allow_download=True`` or ``$OTLATENT_ALLOW_DOWNLOAD=1`` (never the default: the
    study's notebooks and tests must not reach the network unasked).
    """
    for path in inception_weights_candidates():
        if path.is_file():
            return {"available": True, "weights_path": path, "download": False,
                    "reason": f"Inception-v3 weights found at {path}"}
    if allow_download is None:
        allow_download = os.environ.get(DOWNLOAD_ENV, "") not in ("", "0", "false", "no")
    looked = ", ".join(str(p) for p in inception_weights_candidates())
    if allow_download:
        return {"available": True, "weights_path": None, "download": True,
                "reason": f"no local weights ({looked}); torch-fidelity will download them"}
    return {"available": False, "weights_path": None, "download": False,
            "reason": (f"the Inception-v3 weights ({INCEPTION_WEIGHTS_FILE}) are not on this machine (looked in: "
                       f"{looked}) and downloading is off; put the file there, set ${INCEPTION_ENV} to it, or set "
                       f"${DOWNLOAD_ENV}=1 on a machine with internet access")}


class U8Images(torch.utils.data.Dataset):
    """A uint8 image tensor (N, C, H, W) as the ``Dataset`` torch-fidelity takes; grey images are repeated to RGB
    when ``rgb`` is true (Inception needs 3 channels)."""

    def __init__(self, images, rgb: bool = False):
        t = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
        if t.dtype != torch.uint8 or t.ndim != 4:
            raise TypeError(f"expected uint8 images (N, C, H, W), got {t.dtype} {tuple(t.shape)}")
        if rgb and t.shape[1] == 1:
            t = t.expand(-1, 3, -1, -1)
        self.images = t

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def fidelity_metrics(images_u8, reference_u8=None, *, feature_extractor: str = "inception-v3-compat",
                     weights_path=None, isc: bool = True, fid: bool = False, kid: bool = False, splits: int = 10,
                     kid_subsets: int = 100, kid_subset_size: int = 1000, feature_layer_isc: str | None = None,
                     device: str = "cpu", batch_size: int = 200, verbose: bool = False, **kwargs) -> dict:
    """``torch_fidelity.calculate_metrics`` on uint8 images (and a uint8 reference set for FID/KID).

    The defaults are the literature's inception score: torch-fidelity's TF-ported Inception-v3, features
    ``logits_unbiased``, 10 splits.  With ``feature_extractor="inception-v3-compat"`` and no ``weights_path``,
    torch-fidelity downloads the weights: call :func:`inception_status` first.  Another registered extractor
    (e.g. :data:`otlatent.classifier.FIDELITY_NAME` with its ``model.pt`` as ``weights_path``) computes the same
    metrics in its own feature space.  No disk cache, no worker processes.
    """
    import torch_fidelity

    inception = feature_extractor == "inception-v3-compat"
    if inception and feature_layer_isc is None:
        feature_layer_isc = "logits_unbiased"
    args = dict(input1=U8Images(images_u8, rgb=inception), isc=isc, fid=fid, kid=kid,
                feature_extractor=feature_extractor, feature_layer_isc=feature_layer_isc,
                feature_extractor_weights_path=None if weights_path is None else str(weights_path),
                isc_splits=splits, kid_subsets=kid_subsets, kid_subset_size=kid_subset_size,
                cuda=str(device).startswith("cuda"), batch_size=batch_size, cache=False, save_cpu_ram=True,
                verbose=verbose)
    if fid or kid:
        if reference_u8 is None:
            raise ValueError("FID and KID need reference_u8")
        args["input2"] = U8Images(reference_u8, rgb=inception)
    args.update(kwargs)
    return torch_fidelity.calculate_metrics(**args)


# --------------------------------------------------------------------------- FID and KID on features


def frechet_distance(features_a, features_b) -> float:
    """FID between two feature sets (N, D), torch-fidelity's computation (``metric_fid.py``):
    ``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))``."""
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    a = fid_features_to_statistics(torch.as_tensor(features_a).double().cpu())
    b = fid_features_to_statistics(torch.as_tensor(features_b).double().cpu())
    return float(fid_statistics_to_metric(a, b, verbose=False)["frechet_inception_distance"])


def _moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance (ddof 1, as ``numpy.cov``) of the rows of ``x`` (float64)."""
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / (len(x) - 1)


def _fid_from_stats(mu_a, cov_a, mu_b, cov_b) -> float:
    """torch-fidelity's FID formula (trace of the matrix square root from the eigenvalues of ``S_a S_b``)."""
    mu_a, cov_a, mu_b, cov_b = (torch.as_tensor(v, dtype=torch.float64) for v in (mu_a, cov_a, mu_b, cov_b))
    diff = mu_a - mu_b
    tr_covmean = torch.linalg.eigvals(cov_a @ cov_b).sqrt().real.sum()
    return float(diff @ diff + cov_a.trace() + cov_b.trace() - 2 * tr_covmean)


def kernel_distance(features_a, features_b, subsets: int = 100, subset_size: int = 1000, seed: int = 2020) -> dict:
    """KID (Binkowski et al., 2018) between two feature sets, torch-fidelity's estimator (``metric_kid.py``):
    the unbiased MMD^2 with the cubic polynomial kernel ``(x.y / D + 1)^3`` on ``subsets`` random subsets of
    ``subset_size`` samples of each set (drawn without replacement by ``numpy.random.RandomState(seed).choice``),
    mean and population std over subsets.  Returns ``{"mean", "std"}``.

    Computed in torch (float64) rather than by calling torch-fidelity's numpy code, which is slow on a busy
    machine; ``tests/test_metrics.py`` checks that both give the same numbers.
    """
    a = torch.as_tensor(features_a).double().cpu()
    b = torch.as_tensor(features_b).double().cpu()
    if min(len(a), len(b)) < subset_size:
        raise ValueError(f"subset_size {subset_size} exceeds the number of samples ({len(a)}, {len(b)})")
    rng = np.random.RandomState(seed)
    mmds = np.empty(subsets)
    for i in range(subsets):
        x = a[torch.from_numpy(rng.choice(len(a), subset_size, replace=False))]
        y = b[torch.from_numpy(rng.choice(len(b), subset_size, replace=False))]
        mmds[i] = _mmd2(x, y)
    return {"mean": float(mmds.mean()), "std": float(mmds.std())}


def _poly_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _mmd2(a: torch.Tensor, b: torch.Tensor) -> float:
    m, n = len(a), len(b)
    kaa, kbb = _poly_kernel(a, a), _poly_kernel(b, b)
    return float((kaa.sum() - kaa.diagonal().sum()) / (m * (m - 1)) + (kbb.sum() - kbb.diagonal().sum()) / (n * (n - 1))
                 - 2 * _poly_kernel(a, b).mean())


def mmd2_unbiased(features_a, features_b) -> float:
    """Unbiased MMD^2 with KID's cubic polynomial kernel on the full sets (no subsets)."""
    return _mmd2(torch.as_tensor(features_a).double(), torch.as_tensor(features_b).double())


class torch_threads:
    """Run a block with ``n`` torch threads.

    The study's scoring works on small matrices and small convolutions; on a machine whose cores are shared (a
    GAN training next door, CI), torch's thread pool then spends more time waiting than computing -- measured
    here: 0.36 s on one thread against 12.7 s on two for the same small training run.  One thread is the safe
    default for such work; the result does not depend on it.
    """

    def __init__(self, n: int = 1):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


# --------------------------------------------------------------------------- resampling


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


def _perm_p(observed: float, null: np.ndarray) -> float:
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
    return {"diff": float(observed), "p": _perm_p(observed, null), "null": null}


def bootstrap_ci(x, statistic, n_boot: int = 200, level: float = 0.95, seed: int = 0,
                 groups=None) -> tuple[float, float]:
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
        draw = lambda: torch.from_numpy(np.concatenate(  # noqa: E731
            [members[g] for g in rng.integers(0, len(members), len(members))]))
    vals = np.array([statistic(x[draw()]) for _ in range(n_boot)])
    lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def kid_permutation_test(reference, a, b, n_perm: int = 200, seed: int = 0, max_n: int = 2000) -> dict:
    """Permutation test of ``MMD^2(b, ref) - MMD^2(a, ref)`` (unbiased, KID's kernel, full sets of at most
    ``max_n`` samples each; two-sided).

    The pooled kernel matrix is computed once; the within-set sums of a relabelling are ``1_X^T K 1_X``, done
    for all relabellings in one matrix product.  Returns ``{"diff", "p", "null"}``.
    """
    r = torch.as_tensor(reference).double()[:max_n]
    a = torch.as_tensor(a).double()[:max_n]
    b = torch.as_tensor(b).double()[:max_n]
    pooled = torch.cat([a, b])
    na, nb = len(a), len(b)
    kpp = _poly_kernel(pooled, pooled)
    kpp.fill_diagonal_(0.0)
    cross = _poly_kernel(pooled, r).mean(1)  # mean kernel to the reference, per pooled sample
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
    return {"diff": float(diff[0]), "p": _perm_p(diff[0], diff[1:]), "null": diff[1:]}


# --------------------------------------------------------------------------- one table of scores


def score_sets(sets: dict, reference: dict | None = None, baseline: str | None = None, *, splits: int = 10,
               n_boot: int = 200, kid_subsets: int = 100, kid_subset_size: int = 1000, inception_score_: bool = True,
               seed: int = 0, progress: bool = False) -> pd.DataFrame:
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
        ref_mu, ref_cov = _moments(ref_pool)

    def fid_to_ref(x):
        return _fid_from_stats(*_moments(x), ref_mu, ref_cov)

    with torch_threads(1):
        for k, name in enumerate(names):
            rows += _score_one(sets, name, baseline, ref_pool, fid_to_ref, splits, n_boot, kid_subsets,
                               kid_subset_size, inception_score_, seed + k)
            bar.update(1)
    bar.close()
    table = pd.DataFrame(rows)
    basevals = table[table.set == baseline].set_index("score")["value"]
    table["rel_change_pct"] = 100 * (table["value"] / table["score"].map(basevals) - 1)
    table["p_holm"] = np.nan
    for score, idx in table.groupby("score").groups.items():
        sub = table.loc[idx]
        mask = sub.set != baseline
        table.loc[sub.index[mask], "p_holm"] = holm(sub.loc[mask, "p_value"])
    return table[["set", "score", "value", "std", "ci_low", "ci_high", "rel_change_pct", "p_value", "p_holm"]]


def _score_one(sets, name, baseline, ref_pool, fid_to_ref, splits, n_boot, kid_subsets, kid_subset_size,
               inception_score_, rng_seed) -> list[dict]:
    """The rows of :func:`score_sets` for one set."""
    rows = []
    f = sets[name]
    base = sets[baseline]
    if inception_score_:
        logits = torch.as_tensor(f["logits"]).double()
        isc = inception_score(logits=logits, splits=splits)
        lp = logits.log_softmax(1)
        lo, hi = bootstrap_ci(lp, lambda x: _split_mean_is(x, splits), n_boot, seed=rng_seed + 11)
        p = np.nan
        if name != baseline:
            blp = torch.as_tensor(base["logits"]).double().log_softmax(1)
            p = permutation_test(blp, lp, lambda x: _split_mean_is(x, splits), n_boot, seed=rng_seed + 13)["p"]
        rows.append(dict(set=name, score="IS", value=isc["mean"], std=isc["std"], ci_low=lo, ci_high=hi, p_value=p))
    if ref_pool is not None:
        pool = torch.as_tensor(f["pool"]).double()
        fid = frechet_distance(pool, ref_pool)
        gen = np.random.default_rng(rng_seed + 17)
        boots = []
        for _ in range(n_boot):
            i = torch.from_numpy(gen.integers(0, len(pool), len(pool)))
            j = torch.from_numpy(gen.integers(0, len(ref_pool), len(ref_pool)))
            boots.append(_fid_from_stats(*_moments(pool[i]), *_moments(ref_pool[j])))
        lo, hi = np.quantile(boots, [0.025, 0.975])
        p = np.nan
        if name != baseline:
            p = permutation_test(torch.as_tensor(base["pool"]).double(), pool, fid_to_ref, n_boot,
                                 seed=rng_seed + 19)["p"]
        rows.append(dict(set=name, score="FID", value=fid, std=np.nan, ci_low=float(lo), ci_high=float(hi),
                         p_value=p))
        size = min(kid_subset_size, len(pool), len(ref_pool))
        kid = kernel_distance(pool, ref_pool, kid_subsets, size, seed=2020)
        p = np.nan
        if name != baseline:
            p = kid_permutation_test(ref_pool, torch.as_tensor(base["pool"]).double(), pool, n_boot,
                                     seed=rng_seed + 23)["p"]
        rows.append(dict(set=name, score="KID", value=kid["mean"], std=kid["std"], ci_low=np.nan,
                         ci_high=np.nan, p_value=p))
    return rows


def compare_statistics(groups: dict, baseline: str | None = None) -> pd.DataFrame:
    """:func:`image_statistics` of several image sets against a baseline set, with two-sample tests.

    One row per (set, statistic): the mean, its relative change against the baseline's mean (in %), the
    two-sided Mann-Whitney U p-value (``scipy.stats.mannwhitneyu``) and the Holm-adjusted p-value over the
    non-baseline sets.  Grey images have no saturation (left out).
    """
    from scipy.stats import mannwhitneyu

    names = list(groups)
    baseline = baseline or names[0]
    stats = {name: image_statistics(x) for name, x in groups.items()}
    rows = []
    for col in stats[baseline].columns:
        b = stats[baseline][col].to_numpy()
        if np.isnan(b).all():
            continue
        for name in names:
            x = stats[name][col].to_numpy()
            p = np.nan if name == baseline else float(mannwhitneyu(x, b, alternative="two-sided").pvalue)
            rows.append(dict(set=name, score=col, value=float(x.mean()), rel_change_pct=100 * (x.mean() / b.mean() - 1),
                             p_value=p))
    table = pd.DataFrame(rows)
    table["p_holm"] = np.nan
    for score, idx in table.groupby("score").groups.items():
        sub = table.loc[idx]
        mask = sub.set != baseline
        table.loc[sub.index[mask], "p_holm"] = holm(sub.loc[mask, "p_value"])
    return table


# --------------------------------------------------------------------------- reading the table

#: Direction in which each score gets worse.
WORSE = {"IS": "lower", "FID": "higher", "KID": "higher", "sharpness": "lower", "contrast": "lower",
         "saturation": "lower"}


def paper_style_table(long: pd.DataFrame, sets=None, scores=None, alpha: float = 0.05) -> pd.DataFrame:
    """The long table of :func:`score_sets` / :func:`compare_statistics` as one row per set and one column per
    score, each cell ``value ± std (Δ%)`` as in the paper's Table 2 (FID: ``value [95% CI]``); ``*`` marks a
    change whose Holm-adjusted p-value is below ``alpha``."""
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
    return pd.DataFrame([[cells.get((s, c), "") for c in scores] for s in sets], index=pd.Index(sets, name="set"),
                        columns=scores)


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
            rows.append(dict(set=r.set, score=r.score, claim="indistinguishable from random samples",
                             holds=bool(r.p_value >= alpha)))
        elif r.set in linear:
            worse = r.rel_change_pct < 0 if WORSE[r.score] == "lower" else r.rel_change_pct > 0
            rows.append(dict(set=r.set, score=r.score, claim="significantly worse than random samples",
                             holds=bool(r.p_holm < alpha and worse)))
        else:
            continue
        rows[-1].update(rel_change_pct=r.rel_change_pct, p_value=r.p_value, p_holm=r.p_holm)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- reconstruction fidelity


#: Highest PSNR reported (dB): an error of half a uint8 grey level everywhere, 10 log10(1 / (0.5 / 255)^2) = 54.2.
PSNR_CAP = float(10 * np.log10(1 / (0.5 / 255) ** 2))


def reconstruction_quality(clean, reconstructed) -> pd.DataFrame:
    """Per-image fidelity of ``reconstructed`` to ``clean`` (both (N, C, H, W), [-1, 1] floats or uint8).

    On images mapped to [0, 1]: ``mse`` :math:`= \\frac1D \\lVert \\hat x - x \\rVert^2`,
    ``psnr`` :math:`= 10 \\log_{10}(1 / \\mathrm{mse})` dB, capped at :data:`PSNR_CAP` (identical images, e.g. a
    grey photograph whose colour channels were permuted, would otherwise score infinity and break every mean), and ``ssim`` (Wang et al., 2004: 11 x 11 Gaussian window,
    :math:`\\sigma = 1.5`, :math:`K_1 = 0.01`, :math:`K_2 = 0.03`, averaged over the channels), both computed by
    ``torchmetrics.functional``.
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    x, y = to_unit(clean).float(), to_unit(reconstructed).float()
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    mse = (y.double() - x.double()).pow(2).flatten(1).mean(1)
    psnr = peak_signal_noise_ratio(y.double(), x.double(), data_range=1.0, reduction="none", dim=(1, 2, 3))
    psnr = psnr.clamp(max=PSNR_CAP)
    # float32: torchmetrics' SSIM is ~40x slower in float64 on the CPU; the float32 values differ by < 1e-5 on
    # textured images and by up to ~3e-4 on flat ones (cancellation in the local variances), far below the effects
    # compared here (tests/test_metrics.py checks both)
    ssim = structural_similarity_index_measure(y, x, data_range=1.0, reduction="none").double()
    return pd.DataFrame({"mse": mse.numpy(), "psnr": psnr.numpy(), "ssim": ssim.numpy()})


def mean_ci_table(df: pd.DataFrame, by, columns, n_boot: int = 200, level: float = 0.95, seed: int = 0,
                  cluster: str | None = None) -> pd.DataFrame:
    """Mean of each of ``columns`` per group of ``by``, with a percentile bootstrap interval over the rows
    (over the clusters named by column ``cluster`` when given: see :func:`bootstrap_ci`).

    Returns one row per group with ``<col>``, ``<col>_lo``, ``<col>_hi`` and ``n``.
    """
    rows = []
    for key, group in df.groupby(by, sort=False):
        row = dict(zip([by] if isinstance(by, str) else by, key if isinstance(key, tuple) else (key,)))
        for k, col in enumerate(columns):
            values = torch.tensor(group[col].to_numpy(dtype=np.float64, copy=True))
            lo, hi = bootstrap_ci(values, lambda v: float(v.mean()), n_boot, level, seed + k,
                                  groups=None if cluster is None else group[cluster].to_numpy())
            row.update({col: float(values.mean()), f"{col}_lo": lo, f"{col}_hi": hi})
        row["n"] = len(group)
        rows.append(row)
    return pd.DataFrame(rows)
