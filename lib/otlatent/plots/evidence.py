"""Figures of the replicated evidence (notebook 06): pooled changes inside their equivalence margins, where every set
sits relative to the real data, and how each score responds to a ladder of known degradations.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

from ..metrics.calibration import DEGRADATIONS
from . import method_color

__all__ = ["set_color", "change_figure", "placement_figure", "ladder_figure"]


def set_color(name: str) -> str:
    """The study's colour for a row of a sample-quality table ("2-point linear" -> the linear colour)."""
    if name == "real data":
        return "#000000"
    if name.startswith(("random", "reconstructions")):
        return method_color("random")
    return method_color(name.split()[-1])


def _row_panels(scores, sets):
    """One panel per score, one row per set; the first panel's set names get room of their own, so that the panels
    keep their width (and their axis labels do not run into each other) however long the names are.
    """
    names = max((len(str(s)) for s in sets), default=0)
    return plt.subplots(
        1, len(scores), figsize=(2.9 * len(scores) + 0.07 * names, 0.45 * len(sets) + 1.2), squeeze=False
    )


def change_figure(ev, sets, scores, title: str = "", baseline: str = "random samples"):
    """Pooled change (%) of each set against the ``baseline`` with its 95% interval, per score (one panel each);
    the grey band is the equivalence margin (of the first row). Filled markers: the verdict is "worse", "better" or
    "equivalent". Where a panel holds rows in both units (``unit`` "%" and "abs", e.g. several model families),
    differences are drawn as diamonds and the label says so.
    """
    fig, axes = _row_panels(scores, sets)
    for ax, score in zip(axes[0], scores):
        sub = ev[ev.score == score].set_index("set")
        absolute = "unit" in sub and (sub.unit == "abs").any()
        mixed = absolute and (sub.unit != "abs").any()
        margin = float(sub.margin_pct.iloc[0])
        ax.axvspan(-margin, margin, color="#e0e0e0", zorder=0)
        ax.axvline(0, color="#4d4d4d", lw=0.8)
        for k, name in enumerate(sets):
            if name not in sub.index:
                continue
            r = sub.loc[name]
            colour = set_color(name)
            decided = any(part in ("worse", "better", "equivalent") for part in r.verdict.split("; "))
            difference = "unit" in sub and r.get("unit") == "abs"
            ax.errorbar(
                r.change_pct,
                k,
                xerr=[[r.change_pct - r.ci_low], [r.ci_high - r.change_pct]],
                fmt="D" if difference and mixed else "o",
                color=colour,
                mfc=colour if decided else "white",
                capsize=2,
            )
        ax.set_yticks(range(len(sets)), sets if ax is axes[0, 0] else [""] * len(sets))
        ax.invert_yaxis()
        ax.set_title(score, fontsize=9)
        if mixed:  # rows of several families in different units: diamonds are differences, circles %
            ax.set_xlabel(f"vs {baseline}: % (circles),\ndifference (diamonds)")
        else:
            ax.set_xlabel(f"difference vs {baseline}" if absolute else f"change vs {baseline} (%)")
        ci = np.abs(sub.ci_high.to_numpy(float))
        if np.isfinite(ci).any() and np.nanmax(ci) > 100 and margin > 0:
            linthresh = max(10 * margin, 10.0)
            ax.set_xscale("symlog", linthresh=linthresh)
            ax.xaxis.set_major_locator(mticker.SymmetricalLogLocator(base=10, linthresh=linthresh))
            ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_locator(mticker.NullLocator())
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def placement_figure(values, sets, scores, real: str = "real data", title: str = ""):
    """Every scored set's value (one dot per replicate model and draw), per score; the black line is the real data's
    value. Shows whether a set that differs from the random samples is closer to or further from the real images.
    """
    fig, axes = _row_panels(scores, sets)
    for ax, score in zip(axes[0], scores):
        sub = values[values.score == score]
        real_v = sub[sub.set == real].value
        if len(real_v):
            ax.axvline(float(real_v.iloc[0]), color="#000000", lw=1.2, label="real data")
        for k, name in enumerate(sets):
            v = sub[sub.set == name]
            if not len(v):
                continue
            jitter = np.linspace(-0.18, 0.18, len(v)) if len(v) > 1 else [0.0]
            ax.scatter(v.value, k + np.asarray(jitter), s=12, color=set_color(name), alpha=0.8)
        ax.set_yticks(range(len(sets)), sets if ax is axes[0, 0] else [""] * len(sets))
        ax.invert_yaxis()
        ax.set_title(score, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def ladder_figure(ladder, scores, margins, title: str = ""):
    """Change of each score against the undegraded real images along each degradation's levels, in units of the
    score's equivalence margin (one line per kind, one panel per score; symmetric-log axis). Inside the grey band
    (±1 margin) a score cannot tell the degraded images from the real ones.
    """
    fig, axes = plt.subplots(1, len(scores), figsize=(2.9 * len(scores), 2.8), squeeze=False)
    colours = dict(zip(DEGRADATIONS, ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#d62728"]))
    for ax, score in zip(axes[0], scores):
        sub = ladder[ladder.score == score]
        base = float(sub[sub.kind == "none"].value.iloc[0])
        ax.axhspan(-1, 1, color="#e0e0e0", zorder=0)
        for kind, h in sub[sub.kind != "none"].groupby("kind", sort=False):
            order = [DEGRADATIONS[kind].index(v) for v in h.level]
            units = (h.value.to_numpy(float) - base) / margins[score]
            ax.plot([0] + [o + 1 for o in order], [0.0, *units], "o-", ms=3, color=colours[kind], label=kind)
        ax.axhline(0, color="#4d4d4d", lw=0.8)
        ax.set_yscale("symlog", linthresh=1)
        ax.set_xticks(range(5), ["none", "1", "2", "3", "4"])
        ax.set_xlabel("degradation level")
        ax.set_title(score, fontsize=9)
    axes[0, 0].set_ylabel("change vs real images\n(in equivalence margins)")
    axes[0, -1].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
