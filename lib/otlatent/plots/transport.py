"""Figures of one-dimensional transport, matchings, couplings and plans (notebooks 01-02).

Colours follow :data:`otlatent.plots.METHOD_COLORS`: the law an operation produces (``"linear"``),
the prior it should have (``"prior"``) and the matched / transported law (``"matched"``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import method_color

__all__ = ["step_cdf", "draw_matching", "draw_plan_lines", "coupling_figure", "transport_map_figure"]


def step_cdf(ax, samples, weights=None, *, color=None, label=None, dots: bool = True, **kwargs):
    """Draw the right-continuous empirical CDF of ``samples``: closed dots at the jumps, open dots below."""
    x = np.asarray(samples, dtype=float)
    w = np.full(x.size, 1 / x.size) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(x)
    xs, cw = x[order], np.cumsum(w[order])
    atoms = np.unique(xs)
    levels = cw[np.searchsorted(xs, atoms, side="right") - 1]  # F at each atom (right-continuous)
    below = np.concatenate([[0.0], levels[:-1]])  # F just left of each atom
    span = atoms.max() - atoms.min() if atoms.size > 1 else 1.0
    left, right = atoms.min() - 0.25 * span, atoms.max() + 0.25 * span
    ax.hlines(
        np.concatenate([[0.0], levels]),
        np.concatenate([[left], atoms]),
        np.concatenate([atoms, [right]]),
        color=color,
        label=label,
        **kwargs,
    )
    if dots:
        ax.plot(atoms, levels, "o", color=color, ms=4)
        ax.plot(atoms, below, "o", mfc="white", color=color, ms=4)
    return ax


def draw_matching(
    ax,
    x,
    y,
    target_index,
    *,
    color=None,
    label=None,
    top: float = 1.0,
    bottom: float = 0.0,
    point_colors=("0.25", None),
    alpha: float = 0.8,
    lw: float = 1.4,
):
    """Two rows of points, ``x`` at height ``top`` and ``y`` at ``bottom``, joined by ``x[i] -> y[target_index[i]]``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    color = color or method_color("matched")
    for i, j in enumerate(np.asarray(target_index)):
        ax.plot([x[i], y[j]], [top, bottom], color=color, alpha=alpha, lw=lw, label=label if i == 0 else None)
    ax.plot(x, np.full(x.size, top), "o", color=point_colors[0], ms=6, zorder=3)
    ax.plot(y, np.full(y.size, bottom), "s", color=point_colors[1] or method_color("prior"), ms=6, zorder=3)
    ax.set_yticks([bottom, top])
    return ax


def draw_plan_lines(
    ax,
    X,
    Y,
    plan,
    *,
    color=None,
    max_alpha: float = 0.9,
    max_lw: float = 2.5,
    rel_threshold: float = 1e-6,
    top: float = 1.0,
    bottom: float = 0.0,
):
    """Segments between the supports of a coupling, opacity and width proportional to the mass moved.

    ``X`` and ``Y`` are either 1-D (drawn as two rows at heights ``top`` and ``bottom``) or
    2-D point clouds of shape (n, 2) and (m, 2).  Entries below ``rel_threshold * plan.max()`` are
    not drawn.
    """
    X, Y, P = np.asarray(X, float), np.asarray(Y, float), np.asarray(plan, float)
    color = color or method_color("matched")
    if X.ndim == 1:
        X = np.column_stack([X, np.full(X.size, top)])
        Y = np.column_stack([Y, np.full(Y.size, bottom)])
    rows, cols = np.nonzero(P > rel_threshold * P.max())
    strength = P[rows, cols] / P.max()
    for i, j, s in zip(rows, cols, strength):
        ax.plot([X[i, 0], Y[j, 0]], [X[i, 1], Y[j, 1]], color=color, alpha=max_alpha * s, lw=0.4 + max_lw * s, zorder=1)
    return ax


def coupling_figure(
    plan,
    a,
    b,
    *,
    x=None,
    y=None,
    order: str = "position",
    title: str | None = None,
    cmap: str = "Greens",
    figsize=(5.2, 5.0),
):
    """The matrix of a coupling with its two marginals as bar charts on the left (``a``) and on top (``b``).

    ``x`` and ``y``, when given, are one coordinate of the source and target points: rows and columns are then
    sorted by them, and the axis labels say so, naming the coordinate ``order``.
    """
    P = np.asarray(plan, float)
    a, b = np.asarray(a, float), np.asarray(b, float)
    ri = np.argsort(x) if x is not None else np.arange(P.shape[0])
    cj = np.argsort(y) if y is not None else np.arange(P.shape[1])
    P, a, b = P[np.ix_(ri, cj)], a[ri], b[cj]
    fig = plt.figure(figsize=figsize)
    gs = fig.add_gridspec(2, 2, width_ratios=(1, 4), height_ratios=(1, 4), wspace=0.05, hspace=0.05)
    ax = fig.add_subplot(gs[1, 1])
    ax_top = fig.add_subplot(gs[0, 1], sharex=ax)
    ax_left = fig.add_subplot(gs[1, 0], sharey=ax)
    ax.imshow(P, cmap=cmap, aspect="auto", interpolation="nearest", vmin=0)
    ax_top.bar(np.arange(b.size), b, color=method_color("prior"), width=0.9)
    ax_left.barh(np.arange(a.size), a, color=method_color("linear"), height=0.9)
    ax_left.invert_xaxis()
    ax_top.set_ylabel("b")
    ax_left.set_xlabel("a")
    ax.set_xlabel("target index j" + (f" (sorted by {order})" if y is not None else ""))
    ax_left.set_ylabel("source index i" + (f" (sorted by {order})" if x is not None else ""))
    plt.setp(ax_top.get_xticklabels(), visible=False)
    plt.setp(ax.get_yticklabels(), visible=False)
    if title:
        ax_top.set_title(title)
    return fig


def transport_map_figure(
    grid_source,
    pdf_source,
    grid_target,
    pdf_target,
    T,
    *,
    pushed=None,
    source_label="source",
    target_label="target",
    map_label="T",
    figsize=(6.4, 5.2),
    bins: int = 80,
):
    """The classic transport diagram: source density below, the map ``T`` in the middle, target density on the left.

    ``T`` is a callable evaluated on ``grid_source``.  ``pushed`` -- samples ``T(Y)`` -- is drawn as a
    histogram over the target density, to show that ``T`` pushes one law onto the other.
    Returns the figure and its main axes.
    """
    fig = plt.figure(figsize=figsize)
    gs = fig.add_gridspec(2, 2, width_ratios=(1, 3), height_ratios=(3, 1), wspace=0.06, hspace=0.06)
    ax = fig.add_subplot(gs[0, 1])
    ax_src = fig.add_subplot(gs[1, 1], sharex=ax)
    ax_tgt = fig.add_subplot(gs[0, 0], sharey=ax)
    ax.plot(grid_source, T(grid_source), color=method_color("matched"), lw=2, label=map_label)
    ax.plot(grid_source, grid_source, color="0.6", lw=0.8, ls="--", label="identity")
    ax.legend(loc="upper left", fontsize="small")
    ax_src.fill_between(grid_source, pdf_source, color=method_color("linear"), alpha=0.35)
    ax_src.plot(grid_source, pdf_source, color=method_color("linear"), label=source_label)
    ax_src.set_xlabel(source_label)
    ax_src.set_yticks([])
    ax_tgt.fill_betweenx(grid_target, pdf_target, color=method_color("prior"), alpha=0.3)
    ax_tgt.plot(pdf_target, grid_target, color=method_color("prior"), lw=3, alpha=0.6, label=target_label)
    top = float(np.max(pdf_target))
    if pushed is not None:
        heights, _, _ = ax_tgt.hist(
            pushed,
            bins=bins,
            range=(grid_target.min(), grid_target.max()),
            density=True,
            orientation="horizontal",
            histtype="step",
            color=method_color("matched"),
            lw=1.6,
            ls="--",  # dashed over the target's thick line and fill, which stay visible where they agree
            label=f"{map_label} of samples",
        )
        top = max(top, float(np.max(heights)))
        ax_tgt.legend(loc="lower left", fontsize="x-small", bbox_to_anchor=(0, -0.28))
    ax_tgt.set_xlim(1.6 * top, 0)  # densities grow to the left
    ax_tgt.set_ylabel(target_label)
    ax_tgt.set_xticks([])
    plt.setp(ax.get_xticklabels(), visible=False)
    plt.setp(ax.get_yticklabels(), visible=False)
    return fig, ax
