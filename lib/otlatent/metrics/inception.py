"""The inception score (Salimans et al., 2016), the Inception-v3 weights it needs, and the adapter that runs
torch-fidelity's own metrics (IS, FID, KID) on the study's uint8 images.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..config import data_root

__all__ = [
    "inception_score",
    "split_mean_is",
    "INCEPTION_WEIGHTS_FILE",
    "INCEPTION_ENV",
    "DOWNLOAD_ENV",
    "inception_weights_candidates",
    "inception_status",
    "U8Images",
    "fidelity_metrics",
    "inception_features",
]


def inception_score(logits=None, probs=None, splits: int = 10, shuffle: bool = True, rng_seed: int = 2020) -> dict:
    r"""Inception score of Salimans et al. (2016) from class logits or class probabilities (N, K).

    .. math::  \mathrm{IS} = \exp\big(\mathbb{E}_x\,\mathrm{KL}(p(y\mid x)\,\|\,p(y))\big),
               \qquad p(y) = \mathbb{E}_x\,p(y\mid x),

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


def split_mean_is(log_p: torch.Tensor, splits: int) -> float:
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


#: File name of torch-fidelity's TF-ported Inception-v3 weights (``inception-2015-12-05``).
INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_ENV = "OTLATENT_INCEPTION_WEIGHTS"
DOWNLOAD_ENV = "OTLATENT_ALLOW_DOWNLOAD"


def inception_weights_candidates() -> list[Path]:
    """Where the Inception weights are looked for, in order: ``$OTLATENT_INCEPTION_WEIGHTS``,
    ``<data root>/weights/<file>``, and torch hub's checkpoint folder (where torch-fidelity downloads to).
    """
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
            return {
                "available": True,
                "weights_path": path,
                "download": False,
                "reason": f"Inception-v3 weights found at {path}",
            }
    if allow_download is None:
        allow_download = os.environ.get(DOWNLOAD_ENV, "") not in ("", "0", "false", "no")
    looked = ", ".join(str(p) for p in inception_weights_candidates())
    if allow_download:
        return {
            "available": True,
            "weights_path": None,
            "download": True,
            "reason": f"no local weights ({looked}); torch-fidelity will download them",
        }
    return {
        "available": False,
        "weights_path": None,
        "download": False,
        "reason": (
            f"the Inception-v3 weights ({INCEPTION_WEIGHTS_FILE}) are not on this machine (looked in: "
            f"{looked}) and downloading is off; put the file there, set ${INCEPTION_ENV} to it, or set "
            f"${DOWNLOAD_ENV}=1 on a machine with internet access"
        ),
    }


class U8Images(torch.utils.data.Dataset):
    """A uint8 image tensor (N, C, H, W) as the ``Dataset`` torch-fidelity takes; grey images are repeated to RGB
    when ``rgb`` is true (Inception needs 3 channels).
    """

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


def fidelity_metrics(
    images_u8,
    reference_u8=None,
    *,
    feature_extractor: str = "inception-v3-compat",
    weights_path=None,
    isc: bool = True,
    fid: bool = False,
    kid: bool = False,
    splits: int = 10,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    feature_layer_isc: str | None = None,
    device: str = "cpu",
    batch_size: int = 200,
    verbose: bool = False,
    **kwargs,
) -> dict:
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
    args = dict(
        input1=U8Images(images_u8, rgb=inception),
        isc=isc,
        fid=fid,
        kid=kid,
        feature_extractor=feature_extractor,
        feature_layer_isc=feature_layer_isc,
        feature_extractor_weights_path=None if weights_path is None else str(weights_path),
        isc_splits=splits,
        kid_subsets=kid_subsets,
        kid_subset_size=kid_subset_size,
        cuda=str(device).startswith("cuda"),
        batch_size=batch_size,
        cache=False,
        save_cpu_ram=True,
        verbose=verbose,
    )
    if fid or kid:
        if reference_u8 is None:
            raise ValueError("FID and KID need reference_u8")
        args["input2"] = U8Images(reference_u8, rgb=inception)
    args.update(kwargs)
    return torch_fidelity.calculate_metrics(**args)


@torch.no_grad()
def inception_features(images_u8, weights_path=None, device: str = "cpu", batch_size: int = 100) -> dict:
    """torch-fidelity's own Inception-v3 features of uint8 images (grey images repeated to RGB): ``{"pool": (N,
    2048), "logits": (N, 1008)}`` float64 — the ``2048`` pool features of FID/KID and the ``logits_unbiased`` of the
    inception score, as :func:`otlatent.metrics.set_scores` takes them.

    ``weights_path``: the weight file (:func:`inception_status`); ``None`` lets torch-fidelity download it.
    Images are resized to 299 px inside the extractor (TF-1.x bilinear), as in the literature's protocol.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    extractor = FeatureExtractorInceptionV3(
        "inception-v3-compat",
        ["2048", "logits_unbiased"],
        feature_extractor_weights_path=None if weights_path is None else str(weights_path),
    ).to(device)
    data = U8Images(images_u8, rgb=True).images
    pools, logits = [], []
    for s in range(0, len(data), batch_size):
        p, lg = extractor(data[s : s + batch_size].to(device))
        pools.append(p.double().cpu())
        logits.append(lg.double().cpu())
    return {"pool": torch.cat(pools), "logits": torch.cat(logits)}
