r"""MAP reconstruction of corrupted images through a decoder's latent space (notebook 08).

Where :mod:`otlatent.corruptions` damages images and says which pixels are intact, :func:`map_latents` finds the
latents that best explain the intact pixels under the decoder and the prior N(0, I).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import nn

from . import results_cache

__all__ = ["map_latents"]


def map_latents(
    decode,
    y,
    z0,
    sigma,
    mask=None,
    steps: int = 150,
    lr: float = 0.05,
    batch_size: int = 256,
    progress: bool = False,
    cache=None,
    name: str | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    r"""Maximum a posteriori latents of observed images under a decoder and the prior :math:`\mathcal N(0, I)`.

    Minimises, per image, with Adam from ``z0``,

    .. math::

        E(z) = \frac{1}{2\sigma^2} \sum_{d \in \Omega} \left(y_d - m_\theta(z)_d\right)^2
               + \frac12 \lVert z \rVert^2,

    :math:`-\log p(y_\Omega \mid z) - \log p(z)` up to constants, where :math:`\Omega` is the set of observed
    (uncorrupted) pixel values given by ``mask`` (all when ``None``) and :math:`\sigma` the likelihood's scale
    (for additive noise of scale :math:`\sigma_n`: :math:`\sqrt{s^2 + \sigma_n^2}`).

    Parameters
    ----------
    decode : callable
        :math:`z \mapsto m_\theta(z)`, (N, nz) -> (N, C, H, W), differentiable.
    y : torch.Tensor
        Observed images (N, C, H, W), same range as the decoder's output.
    z0 : torch.Tensor
        Starting latents (N, nz), e.g. the encoder means of ``y``.
    sigma : float or torch.Tensor
        Likelihood scale: a scalar or one value per image, shape (N,).
    mask : torch.Tensor, optional
        Bool, broadcastable to ``y`` (e.g. (N, 1, H, W)): True where the pixel is observed.
    steps, lr, batch_size : int, float, int
        Adam iterations and step size; images are optimised in independent batches.
    cache, name : folder and str, optional
        Keep the result in the folder ``cache`` as ``<name>_<key>.pt`` (``name``: the model's run name), keyed by the
        decoder's weights and every input (:mod:`otlatent.results_cache`); a rerun reads it back. ``decode`` must
        then be a module or a module's method.

    Returns
    -------
    z : torch.Tensor
        (N, nz) on the CPU.
    energy : numpy.ndarray
        (steps + 1, N): :math:`E` per image at the start and after every step.
    """
    y = torch.as_tensor(y, dtype=torch.float32)
    z0 = torch.as_tensor(z0, dtype=torch.float32)
    if len(y) != len(z0):
        raise ValueError(f"got {len(y)} images but {len(z0)} starting latents")
    sig = (
        torch.as_tensor(sigma, dtype=torch.float32).expand(len(y))
        if torch.as_tensor(sigma).ndim == 0
        else torch.as_tensor(sigma, dtype=torch.float32)
    )
    if not bool((sig > 0).all() & torch.isfinite(sig).all()):
        raise ValueError(f"sigma must be positive and finite (the likelihood scale), got {sigma!r}")
    if not bool(torch.isfinite(z0).all()):
        raise ValueError("z0 (the starting latents) must be finite; got NaN or inf")
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if not (isinstance(lr, numbers.Real) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite step size, got {lr!r}")
    m = torch.ones(1, 1, 1, 1) if mask is None else torch.as_tensor(mask).float()
    if m.shape[0] not in (1, len(y)):
        raise ValueError(f"mask has {m.shape[0]} images, expected {len(y)}")
    owner = getattr(decode, "__self__", decode)  # a bound method such as VAE.decode, or a module
    params = list(owner.parameters()) if isinstance(owner, nn.Module) else []
    device = params[0].device if params else torch.device("cpu")

    def compute() -> dict:
        flags = [p.requires_grad for p in params]
        for p in params:  # only z is optimised: no gradients for the weights
            p.requires_grad_(False)
        try:
            z, e = _map_batches(decode, y, z0, sig, m, steps, lr, batch_size, device, progress)
        finally:
            for p, flag in zip(params, flags):
                p.requires_grad_(flag)
        return {"z": z, "energy": torch.from_numpy(e)}

    if cache is not None:
        if name is None:
            raise ValueError("a cached MAP reconstruction needs name= (the model's run name)")
        if not isinstance(owner, nn.Module):
            raise ValueError("a cached MAP reconstruction needs decode to be a module or a module's method")
    ident = dict(kind="map_latents", decoder=decode, y=y, z0=z0, sigma=sig, mask=m, steps=int(steps), lr=float(lr),
                 batch_size=int(batch_size), device=device.type)  # fmt: skip
    out = results_cache.cached_tensors(cache, name, ident, compute)
    return out["z"], out["energy"].numpy()


def _map_batches(decode, y, z0, sig, m, steps, lr, batch_size, device, progress):
    from tqdm import tqdm

    out_z, out_e = [], []
    for i in tqdm(range(0, len(y), batch_size), disable=not progress, desc="MAP", unit="batch"):
        yb, sb = y[i : i + batch_size].to(device), sig[i : i + batch_size].to(device)
        mb = (m if m.shape[0] == 1 else m[i : i + batch_size]).to(device)
        z = z0[i : i + batch_size].clone().to(device).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)

        def energy():
            sq = ((decode(z) - yb).pow(2) * mb).flatten(1).sum(1)
            return 0.5 * sq / sb.pow(2) + 0.5 * z.pow(2).sum(1)

        trace = []
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            e = energy()
            trace.append(e.detach().cpu())
            e.sum().backward()
            opt.step()
        with torch.no_grad():
            trace.append(energy().cpu())
        out_z.append(z.detach().cpu())
        out_e.append(torch.stack(trace))
    return torch.cat(out_z), torch.cat(out_e, dim=1).double().numpy()
