"""Figures of images: sample grids, labelled strips, training progress and loss curves."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import make_grid

from ..data import to_unit
from . import METHOD_COLORS, method_color

__all__ = [
    "to_display",
    "show_grid",
    "grid_figure",
    "strips_figure",
    "progress_figure",
    "loss_figure",
    "elbo_figure",
    "curves_figure",
    "moving_average",
]


def to_display(images) -> torch.Tensor:
    """A batch (N, C, H, W), float in [-1, 1] or uint8, as RGB floats in [0, 1] (grey images repeated to 3 channels)."""
    t = to_unit(np.asarray(images) if not torch.is_tensor(images) else images)
    if t.shape[1] == 1:
        t = t.expand(-1, 3, -1, -1)
    return t


def show_grid(ax, images, nrow: int = 8, title: str | None = None, padding: int = 1) -> None:
    """Draw ``images`` as a grid of ``nrow`` columns on ``ax`` (no ticks)."""
    grid = make_grid(to_display(images), nrow=nrow, padding=padding, pad_value=1.0)
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)


def grid_figure(panels: Sequence[tuple[str, object]], nrow: int = 8, panel_inches: float = 3.2):
    """One figure with a titled image grid per ``(title, images)`` panel, side by side."""
    fig, axes = plt.subplots(1, len(panels), figsize=(panel_inches * len(panels), panel_inches), squeeze=False)
    for ax, (title, images) in zip(axes[0], panels):
        show_grid(ax, images, nrow=nrow, title=title)
    fig.tight_layout()
    return fig


def strips_figure(
    rows: Sequence[tuple[str, object]],
    column_labels: Sequence[str] | None = None,
    cell_inches: float = 0.7,
    title: str | None = None,
):
    """Rows of images (one ``(label, images)`` pair per row, each N x C x H x W) with row labels on the left."""
    n_cols = max(len(images) for _, images in rows)
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(cell_inches * n_cols + 1.2, cell_inches * len(rows) + 0.4), squeeze=False
    )
    for ax, (label, images) in zip(axes[:, 0], rows):
        show_grid(ax, images, nrow=n_cols)
        first = label.split()[0].lower() if label else ""
        ax.set_ylabel(
            label,
            rotation=0,
            ha="right",
            va="center",
            fontsize=9,
            color=method_color(first) if first in METHOD_COLORS else "black",
        )
    if column_labels is not None:
        ax0 = axes[0, 0]
        width = ax0.get_xlim()[1]
        for k, text in enumerate(column_labels):
            ax0.text((k + 0.5) * width / n_cols, -2, text, ha="center", va="bottom", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def progress_figure(snapshots: Sequence[tuple[int, np.ndarray]], n_show: int = 16, rows: int = 2):
    """Fixed-noise samples along training: one column of ``n_show`` images per snapshot iteration."""
    fig, axes = plt.subplots(
        1, len(snapshots), figsize=(1.45 * len(snapshots), 1.45 * n_show / rows / 1.2), squeeze=False
    )
    for ax, (iteration, images) in zip(axes[0], snapshots):
        show_grid(ax, images[:n_show], nrow=rows, title=f"it {iteration:,}")
    fig.tight_layout()
    return fig


def moving_average(x, smooth: int = 50) -> np.ndarray:
    """Moving average over ``smooth`` steps (fewer for short series: at most a fifth of their length)."""
    x = np.asarray(x, dtype=float)
    k = max(1, min(smooth, len(x) // 5 or 1))
    return np.convolve(x, np.ones(k) / k, mode="valid")


def loss_figure(histories: dict[str, dict[str, np.ndarray]], smooth: int = 50):
    """Discriminator and generator losses, and D's mean outputs, per run (moving average of ``smooth`` steps)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    ma = lambda x: moving_average(x, smooth)  # noqa: E731
    for (name, hist), style in zip(histories.items(), ("-", "--", ":", "-.")):
        axes[0].plot(ma(hist["loss_d"]), style, color="tab:purple", label=f"$L_D$ ({name})")
        axes[0].plot(ma(hist["loss_g"]), style, color="tab:orange", label=f"$L_G$ ({name})")
        axes[1].plot(ma(hist["d_real"]), style, color="tab:green", label=f"D(x) ({name})")
        axes[1].plot(ma(hist["d_fake"]), style, color="tab:red", label=f"D(G(z)) ({name})")
    axes[0].set(xlabel="iteration", ylabel="loss", title="losses (moving average)")
    axes[1].set(xlabel="iteration", ylabel="mean probability", title="discriminator outputs", ylim=(0, 1))
    for ax in axes:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def elbo_figure(history: dict[str, np.ndarray], smooth: int = 50, held_out: dict[str, float] | None = None):
    """VAE training curves: ELBO, its two terms (reconstruction log-likelihood and KL), and the likelihood scale.

    ``history`` holds per-iteration batch means (nats per image); ``held_out`` optional final values of
    ``elbo``, ``recon`` and ``kl`` on held-out images, drawn as dashed lines.
    """
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    x = np.arange(len(history["elbo"]))
    for ax, key, title in ((axes[0], "elbo", "ELBO"), (axes[1], "recon", r"$\mathbb{E}_q \log p(x \mid z)$")):
        y = moving_average(history[key], smooth)
        ax.plot(x[len(x) - len(y) :], y, color="#4d4d4d", label="training batches")
        if held_out and key in held_out:
            ax.axhline(held_out[key], ls="--", color="tab:orange", label="held-out images")
        ax.set(xlabel="iteration", ylabel="nats per image", title=title)
        lo = np.quantile(y, 0.02)
        ax.set_ylim(lo, y.max() + 0.05 * (y.max() - lo))
        ax.legend(fontsize=7)
    y = moving_average(history["kl"], smooth)
    axes[2].plot(x[len(x) - len(y) :], y, color="tab:purple", label=r"KL$(q(z \mid x) \| p(z))$")
    if held_out and "kl" in held_out:
        axes[2].axhline(held_out["kl"], ls="--", color="tab:orange", label="KL, held-out")
    axes[2].set(xlabel="iteration", ylabel="nats per image", title="KL and likelihood scale")
    if "sigma" in history and len(history["sigma"]):
        twin = axes[2].twinx()
        twin.plot(x, history["sigma"], color="tab:green", label="scale $s$")
        twin.set_ylabel("$s$ ([-1, 1] units)", color="tab:green")
        twin.spines["right"].set_visible(True)
    axes[2].legend(fontsize=7, loc="center right")
    fig.tight_layout()
    return fig


def curves_figure(histories: dict[str, dict[str, np.ndarray]], keys: Sequence[str], smooth: int = 50, log=()):
    """One panel per history term ``keys`` (e.g. a WAE's ``cost`` and ``penalty``), one line per run (moving
    average of ``smooth`` steps); terms in ``log`` on a log scale (their absolute value).
    """
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, hist in histories.items():
            if key in hist:
                y = moving_average(hist[key], smooth)
                ax.plot(np.abs(y) if key in log else y, label=name, lw=1)
        ax.set(xlabel="iteration", title=f"{key} (moving average)", yscale="log" if key in log else "linear")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
