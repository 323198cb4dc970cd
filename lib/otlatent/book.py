"""The rendered course: ``make book`` builds a static HTML site of every notebook with its committed outputs.

``python -m otlatent.book [--out build/book]`` stages the committed notebooks, the README (the landing page, with
the results and figures) and the figures it shows into ``<out>/src``, writes a Sphinx configuration there, and runs
Sphinx with MyST-NB and the book theme (the engine of Jupyter Book 1, of the Executable Books project, driven
directly so that the site holds no Thebe or launch-button scripts) into ``<out>/html``.

It builds offline: the theme, fonts, icons and Sphinx's client-side search ship inside the Python packages, and
MathJax 3 is taken from the npm registry once (``npm pack mathjax@3``, a registry these machines reach) and served
from the site itself, so no page loads anything from a CDN. (Jupyter Book 2, the MyST engine, fetches its site
template at build time.) Notebooks are not executed: the site shows the committed ``cpu`` outputs. Solution cells
(tag ``solution``) are collapsed behind a toggle, as they are in JupyterLab.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from .config import build_root, project_root

__all__ = ["MATHJAX", "stage", "landing_page", "mathjax_dir", "build", "main"]

#: The MathJax release the site serves (from the npm registry, once, into the build folder).
MATHJAX = "3.2.2"
#: Cell tag of the worked solutions; the site hides such a cell behind a toggle (Jupyter Book's ``hide-cell``).
SOLUTION_TAG = "solution"


def _notebooks() -> list[Path]:
    return sorted((project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def landing_page(readme: str, in_book: set[str]) -> str:
    """The README as the site's landing page: links to files the site does not hold (``LICENSE``, sources) become
    the path in plain text, since they would not resolve on the site.
    """

    def fix(m: re.Match) -> str:
        text, target = m.group(1), m.group(2)
        if target.startswith(("http://", "https://", "#", "mailto:")) or target.split("#")[0] in in_book:
            return m.group(0)
        return f"{text} (`{target}` in the repository)"

    return re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", fix, readme)


def stage(src: Path) -> list[str]:
    """Copy the committed notebooks (solution cells tagged ``hide-cell``), the landing page and the figures it shows
    into ``src``, and Sphinx's ``conf.py`` (the table of contents is the landing page's hidden toctree). Returns the
    staged notebooks' names (no suffix).
    """
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    names = []
    for nb_path in _notebooks():
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            if SOLUTION_TAG in tags and "hide-cell" not in tags:
                tags.append("hide-cell")
        (src / "notebooks" / nb_path.name).write_text(json.dumps(nb))
        names.append(nb_path.stem)
    readme = (project_root() / "README.md").read_text()
    images = set(re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme))
    for rel in images:
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project_root() / rel, target)
    book_files = images | {f"notebooks/{n}.ipynb" for n in names}
    toctree = (
        "\n\n```{toctree}\n:hidden:\n:caption: Notebooks\n\n" + "".join(f"notebooks/{n}\n" for n in names) + "```\n"
    )
    (src / "index.md").write_text(landing_page(readme, book_files) + toctree)
    (src / "conf.py").write_text(_CONF)
    _favicon(src / "_static" / "favicon.png")
    return names


_CONF = """\
# Sphinx configuration of the course site, written by otlatent.book (edit there, not here).
project = "otlatent: optimal transport maps for latent spaces"
html_title = project
extensions = ["myst_nb", "sphinx_copybutton", "sphinx_design"]
html_theme = "sphinx_book_theme"
html_theme_options = {"home_page_in_toc": True, "show_navbar_depth": 1, "use_download_button": True}
nb_execution_mode = "off"  # the committed cpu outputs
nb_ipywidgets_js = {}  # no widget manager from a CDN; the explorer's static stand-in shows instead
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image"]
myst_heading_anchors = 3
mathjax_path = "mathjax/tex-chtml.js"  # the site's own copy (otlatent.book.mathjax_dir)
html_static_path = ["_static"]
html_favicon = "_static/favicon.png"
html_show_copyright = False
html_show_sphinx = False
html_context = {"default_mode": "light"}  # the theme logs an error on a first visit without it
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]
"""


def _favicon(path: Path) -> None:
    """A 32 px icon: the standard normal density (the prior) over its linear-midpoint law N(0, 1/2)."""
    import numpy as np
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (32, 32), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    x = np.linspace(-3, 3, 32)
    for sd, colour in ((1.0, (44, 123, 182)), (np.sqrt(0.5), (215, 25, 28))):
        y = np.exp(-0.5 * (x / sd) ** 2) / sd
        draw.line([(i, 30 - 26 * v / 1.42) for i, v in enumerate(y)], fill=colour, width=3)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def mathjax_dir(cache: Path) -> Path:
    """MathJax's ``es5`` folder (the browser build), unpacked from ``npm pack mathjax@<MATHJAX>`` into ``cache`` on
    first use.
    """
    es5 = cache / f"mathjax-{MATHJAX}" / "es5"
    if (es5 / "tex-chtml.js").exists():
        return es5
    cache.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            f"the site serves MathJax {MATHJAX} itself and takes it from the npm registry: install Node.js and npm "
            f"(Debian: apt-get install npm), or unpack the npm package mathjax@{MATHJAX} so that {es5}/tex-chtml.js "
            "exists"
        )
    subprocess.run([npm, "pack", f"mathjax@{MATHJAX}", "--silent"], cwd=cache, check=True, stdout=subprocess.DEVNULL)
    with tarfile.open(cache / f"mathjax-{MATHJAX}.tgz") as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("package/es5/")]
        tar.extractall(cache / f"mathjax-{MATHJAX}-tmp", members=members, filter="data")
    (cache / f"mathjax-{MATHJAX}").mkdir(exist_ok=True)
    shutil.move(str(cache / f"mathjax-{MATHJAX}-tmp" / "package" / "es5"), es5)
    shutil.rmtree(cache / f"mathjax-{MATHJAX}-tmp")
    (cache / f"mathjax-{MATHJAX}.tgz").unlink()
    return es5


def build(out: Path | None = None) -> Path:
    """Stage and build the site; return the folder of ``index.html``."""
    out = Path(out) if out is not None else build_root() / "book"
    src = out / "src"
    stage(src)
    shutil.copytree(mathjax_dir(out / "cache"), src / "_static" / "mathjax")
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "auto", str(src), str(html)], check=True)
    print(f"the course site: {html / 'index.html'}")
    return html


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="build folder (default build/book)")
    build(parser.parse_args(argv).out)


if __name__ == "__main__":
    main()
