"""Saving figures and tables: one place decides formats, resolution and folders.

Figures are PNG files, tables a CSV plus a Markdown copy.  In a notebook the
figure is also shown, followed by its caption.
"""

from __future__ import annotations

import os
from pathlib import Path

from .runtime import atomic_write

__all__ = ["savefig", "save_table", "show_caption", "DPI"]

#: Resolution of saved figures (dots per inch).
DPI = 130


def _display(obj) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - ipykernel is a dependency
        return
    if get_ipython() is not None:
        display(obj)


def show_caption(text: str) -> None:
    """Show a caption as Markdown in a notebook (printed elsewhere)."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown
    except ImportError:  # pragma: no cover
        print(text)
        return
    if get_ipython() is not None:
        _display(Markdown(text))
    else:
        print(text)


def savefig(fig, path: str | os.PathLike, caption: str | None = None, show: bool = True) -> Path:
    """Write ``fig`` as a PNG to ``path`` (folders created, written atomically).

    In a notebook the figure is displayed once, followed by ``caption``, and then
    closed so that the inline backend does not draw it a second time.
    """
    import matplotlib.pyplot as plt

    path = Path(path).with_suffix(".png")
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png"))
    if show:
        _display(fig)
    if caption:
        show_caption(caption)
    plt.close(fig)
    return path


def save_table(
    df, path: str | os.PathLike, caption: str | None = None, show: bool = True, floatfmt: str = ".4g"
) -> tuple[Path, Path]:
    """Write a pandas ``DataFrame`` as ``<path>.csv`` and ``<path>.md``; return both paths."""
    path = Path(path)
    csv_path, md_path = path.with_suffix(".csv"), path.with_suffix(".md")
    atomic_write(csv_path, lambda tmp: df.to_csv(tmp))
    markdown = df.to_markdown(floatfmt=floatfmt)
    if caption:
        markdown = f"{caption}\n\n{markdown}"
    atomic_write(md_path, lambda tmp: tmp.write_text(markdown + "\n"))
    if show:
        _display(df)
    if caption:
        show_caption(caption)
    return csv_path, md_path
