"""Saving figures and tables: one place decides formats, resolution and folders.

Figures are PNG files, tables a CSV plus a Markdown copy.  In a notebook the
figure is also shown, followed by its caption.
"""

from __future__ import annotations

import os
from pathlib import Path

from .runtime import atomic_write

__all__ = ["savefig", "save_table", "show_caption", "inline_image", "DPI"]

#: Resolution of saved figures (dots per inch).
DPI = 130
#: A figure whose PNG is larger than this (bytes; grids of photographs) is shown in a notebook as a JPEG of quality
#: :data:`INLINE_JPEG_QUALITY`: several times smaller, so that committed notebooks stay light. The file on disk
#: stays a PNG.
INLINE_PNG_LIMIT = 250_000
INLINE_JPEG_QUALITY = 85


def _display(obj) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - ipykernel is a dependency
        return
    if get_ipython() is not None:
        display(obj)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None


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


def inline_image(png: bytes):
    """What a notebook shows for a saved PNG: the PNG itself, or a JPEG copy when the PNG exceeds
    :data:`INLINE_PNG_LIMIT` bytes (an ``IPython.display.Image``).
    """
    import io

    from IPython.display import Image
    from PIL import Image as PILImage

    if len(png) <= INLINE_PNG_LIMIT:
        return Image(data=png, format="png")
    buf = io.BytesIO()
    PILImage.open(io.BytesIO(png)).convert("RGB").save(buf, format="JPEG", quality=INLINE_JPEG_QUALITY)
    return Image(data=buf.getvalue(), format="jpeg")


def savefig(fig, path: str | os.PathLike, caption: str | None = None, show: bool = True) -> Path:
    """Write ``fig`` as a PNG to ``path`` (folders created, written atomically).

    In a notebook the saved image is displayed once (:func:`inline_image`: as a JPEG when the PNG is large),
    followed by ``caption``, and the figure is closed so that the inline backend does not draw it a second time.
    """
    import matplotlib.pyplot as plt

    path = Path(path).with_suffix(".png")
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png"))
    if show and _in_notebook():
        _display(inline_image(path.read_bytes()))
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
