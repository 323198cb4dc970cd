"""Figures of the model-family comparison (notebook 10): fit quality against mismatch sensitivity, across families
(means and intervals over replicates) and along the training of one family (an epoch sweep).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["fit_sensitivity_figure", "sweep_figure"]

_MARKERS = "osD^v<>Ph*X"


def fit_sensitivity_figure(
    summary, columns, x: str = "fit", xlabel: str = "fit: FID of random samples (lower: better)"
):
    """One panel per column of ``columns`` (e.g. ``"4-point linear %"``): every family of ``summary``
    (:func:`otlatent.families.family_summary`) at its mean ``x`` and mean column value, with 95% intervals both ways.
    """
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 3.6), squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, col in zip(axes[0], columns):
        for k, (family, row) in enumerate(summary.iterrows()):
            mx, my = row[(x, "mean")], row[(col, "mean")]
            xerr = np.array([[mx - row[(x, "low")]], [row[(x, "high")] - mx]])
            yerr = np.array([[my - row[(col, "low")]], [row[(col, "high")] - my]])
            ax.errorbar(mx, my, xerr=np.nan_to_num(xerr), yerr=np.nan_to_num(yerr), fmt=_MARKERS[k % len(_MARKERS)],
                        color=colors(k % 10), capsize=2, label=family, ms=6)  # fmt: skip
        ax.axhline(0, color="#4d4d4d", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(col.replace(" %", ": FID change (%)").replace(" diff", ": FID change"))
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def sweep_figure(
    table, columns, unit, x: str = "fit", step: str = "iteration", xlabel: str = "fit: FID of random samples"
):
    """One panel per column of ``columns``: each unit of ``table`` (a training run: one line per value of the ``unit``
    columns) through its checkpoints, ``x`` against the column, the markers growing with ``step``.
    """
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 3.6), squeeze=False)
    colors = plt.get_cmap("tab10")
    for ax, col in zip(axes[0], columns):
        for k, (key, g) in enumerate(table.sort_values(step).groupby(list(unit), sort=False)):
            label = " ".join(str(v) for v in np.atleast_1d(key))
            sizes = 12 + 48 * (g[step].to_numpy(float) / table[step].max())
            ax.plot(g[x], g[col], color=colors(k % 10), lw=1, alpha=0.7)
            ax.scatter(g[x], g[col], s=sizes, color=colors(k % 10), label=label, zorder=3)
        ax.axhline(0, color="#4d4d4d", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(col.replace(" %", ": FID change (%)").replace(" diff", ": FID change"))
    axes[0][-1].legend(fontsize=7, loc="best", title=f"run (markers grow with {step})", title_fontsize=7)
    fig.tight_layout()
    return fig
