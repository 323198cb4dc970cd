"""Plots for latent-space simulations: trajectories, midpoint densities, norm histograms, transport maps, norm paths.

Every function draws on a given matplotlib ``Axes`` and colours methods with
:func:`otlatent.plots.method_color` (``"prior"``, ``"linear"``, ``"slerp"``, ``"matched"``),
so the notebooks on simulations and on GANs show the same method in the same colour.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import method_color

__all__ = ["trajectories", "density2d", "norm_histograms", "transport_maps", "norm_paths", "marginals_figure"]


def _np(x):
    try:
        import torch

        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(x)


def trajectories(ax, paths: dict, endpoints=None, lim=None, title=None):
    """2-D interpolation paths: ``paths[name]`` has shape (n_t, n_pairs, 2); ``endpoints`` (2, n_pairs, 2)."""
    for name, p in paths.items():
        p = _np(p)
        for j in range(p.shape[1]):
            ax.plot(p[:, j, 0], p[:, j, 1], color=method_color(name), lw=1.4, label=name if j == 0 else None)
    if endpoints is not None:
        e = _np(endpoints).reshape(-1, 2)
        ax.scatter(e[:, 0], e[:, 1], s=14, color="k", zorder=3, label="endpoints")
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper right")
    if title:
        ax.set_title(title)


def density2d(ax, points, lim: float = 1.05, bins: int = 120, title=None, vmax=None):
    """A 2-D histogram (density) of points of shape (n, 2) over [-lim, lim]^2; returns the image for a colour bar.

    The density is normalised by *all* the points (count / (n * cell area)), so points outside the box lower it
    rather than being dropped and the rest renormalised, as ``numpy.histogram2d(density=True)`` would.
    """
    p = _np(points)
    counts, xe, ye = np.histogram2d(p[:, 0], p[:, 1], bins=bins, range=[[-lim, lim], [-lim, lim]])
    h = counts / (len(p) * (xe[1] - xe[0]) * (ye[1] - ye[0]))
    im = ax.imshow(
        h.T,
        origin="lower",
        extent=(xe[0], xe[-1], ye[0], ye[-1]),
        cmap="viridis",
        vmin=0,
        vmax=vmax,
        interpolation="nearest",
    )
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return im


def norm_histograms(ax, values: dict, bins: int = 120, xlabel: str = r"$\|y\|^2$", title=None, range_=None):
    """Step histograms (densities) of one scalar per sample, e.g. squared norms, one per method."""
    arrays = {k: _np(v).ravel() for k, v in values.items()}
    if range_ is None:
        lo = min(np.quantile(a, 0.0005) for a in arrays.values())
        hi = max(np.quantile(a, 0.9995) for a in arrays.values())
        range_ = (lo, hi)
    for name, a in arrays.items():
        prior = name == "prior"  # a filled area, so that a law drawn on top of it (matched) leaves it visible
        ax.hist(
            a,
            bins=bins,
            range=range_,
            density=True,
            histtype="stepfilled" if prior else "step",
            alpha=0.3 if prior else 1.0,
            lw=1.6,
            color=method_color(name),
            label=name,
            ls="--" if name == "matched" else "-",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)


def transport_maps(ax, y, maps: dict, title=None, identity: bool = True):
    """Monotone maps T(y) on a grid ``y``: ``maps[label] = T(y)``; the identity dashed for reference."""
    y = _np(y)
    cmap = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"]
    for i, (label, t) in enumerate(maps.items()):
        ax.plot(y, _np(t), color=cmap[i % len(cmap)], lw=1.6, label=label)
    if identity:
        ax.plot(y, y, color="0.6", ls="--", lw=1, label="identity")
    ax.set_xlabel("y (result of the linear operation)")
    ax.set_ylabel(r"$\tilde y = T(y)$")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)


def norm_paths(ax, x, stats: dict, xlabel: str = "t", ylabel: str = r"$\|y\|$", title=None, reference=None):
    """Mean and +-1 sd band of a per-sample quantity along a path: ``stats[name] = (mean, sd)`` over ``x``."""
    x = _np(x)
    for name, (m, s) in stats.items():
        m, s = _np(m), _np(s)
        c = method_color(name.split()[0])
        ls = "--" if "matched" in name else "-"
        ax.plot(x, m, color=c, lw=1.6, ls=ls, label=name)
        ax.fill_between(x, m - s, m + s, color=c, alpha=0.15)
    if reference is not None:
        ax.axhline(reference, color=method_color("prior"), lw=1, ls=":", label="prior mean")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)


def marginals_figure(codes: dict, dims: int = 4, bins: int = 60):
    r"""Histograms of the first ``dims`` components of each set of codes (rows: sets, ``{name: (N, d)}``) with
    the prior's :math:`\mathcal N(0, 1)` density, and the norms :math:`\lVert z\rVert` against the prior's.
    """
    from scipy import stats

    names = list(codes)
    fig, axes = plt.subplots(len(names), dims + 1, figsize=(2.3 * (dims + 1), 1.9 * len(names)), squeeze=False)
    grid = np.linspace(-4, 4, 200)
    for row, name in zip(axes, names):
        z = _np(codes[name])
        for j in range(dims):
            row[j].hist(z[:, j], bins=bins, range=(-4, 4), density=True, color="#1f77b4", alpha=0.7)
            row[j].plot(grid, stats.norm.pdf(grid), color="k", lw=1)
            row[j].set(yticks=[], title=f"{name}: $z_{j + 1}$" if j == 0 else f"$z_{j + 1}$")
        d = z.shape[1]
        r = np.linspace(0, 2.5 * np.sqrt(d) + 3, 200)
        row[-1].hist(np.linalg.norm(z, axis=1), bins=bins, range=(0, r[-1]), density=True, color="#ff7f0e", alpha=0.7)
        row[-1].plot(r, stats.chi.pdf(r, d), color="k", lw=1)
        row[-1].set(yticks=[], title=r"$\|z\|$ vs prior")
    fig.tight_layout()
    return fig
