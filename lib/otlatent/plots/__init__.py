"""Plotting helpers shared by the notebooks, so that a notebook reads as the argument, not the plumbing.

- :mod:`otlatent.plots.transport` -- one-dimensional transport, couplings, plans (notebooks 01-02)
- :mod:`otlatent.plots.latent` -- latent-space simulations: trajectories, norm histograms, maps (notebook 03)

Every notebook uses the same colour for the same method (:data:`METHOD_COLORS`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

__all__ = ["METHOD_COLORS", "set_style", "method_color"]

#: One colour per latent operation variant, used by every figure of the study.
METHOD_COLORS = {
    "prior": "#4d4d4d",
    "random": "#4d4d4d",
    "linear": "#d62728",
    "slerp": "#1f77b4",
    "matched": "#2ca02c",
    "encoder means": "#ff7f0e",
    "centred matched": "#17becf",
    "posterior samples": "#9467bd",
}


def method_color(name: str) -> str:
    """The study's colour for ``name`` (``"linear"``, ``"slerp"``, ``"matched"``, ``"prior"``)."""
    return METHOD_COLORS.get(name.lower(), "#9467bd")


def set_style() -> None:
    """The study's figure style: seaborn's ``ticks`` theme at notebook scale, no top/right spines."""
    sns.set_theme(context="notebook", style="ticks", font_scale=0.9)
    plt.rcParams.update({"axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100})
