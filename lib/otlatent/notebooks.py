"""Running the study's notebooks: ``make reproduce`` and the CI preparation of ``make test``.

Notebook sources are Jupytext percent scripts ``notebooks/NN_topic.py``; the
paired ``notebooks/NN_topic.ipynb`` holds the outputs of the last ``cpu`` run so
that readers on GitHub see the figures.

``python -m otlatent.notebooks reproduce --preset cpu``
    builds each notebook from its ``.py`` source, executes it with
    papermill (once per dataset present, for notebooks that take a ``dataset``
    parameter) into ``build/<preset>/`` and, for the ``cpu`` preset, copies the
    most informative run back into ``notebooks/``.
``python -m otlatent.notebooks prepare --preset smoke --out build/ci``
    injects the parameters without executing, for ``pytest --nbval-lax``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from .config import DATASETS, build_root, get_preset, project_root

__all__ = ["notebook_sources", "source_notebook", "parameters_of", "datasets_present", "reproduce", "prepare", "main"]

#: The preset whose executed notebooks are committed.
COMMITTED_PRESET = "cpu"
#: Which run of a multi-dataset notebook is committed: the first of these that ran.
SHOWCASE_ORDER = ("lfw", "mnist", "celeba", "lsun", "lld", "synthetic")


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def notebook_sources(only: list[str] | None = None) -> list[Path]:
    """The notebook sources ``notebooks/NN_*.py`` in order (optionally those whose name starts with ``only``)."""
    paths = sorted(notebooks_dir().glob("[0-9][0-9]_*.py"))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) for o in only)]
        if not paths:
            raise ValueError(f"no notebook matches {only}")
    return paths


def source_notebook(source: Path, out: Path) -> Path:
    """Write the notebook of ``NN.py`` (cells only, no outputs) to ``out/src/NN.ipynb``: papermill's input.

    The committed ``notebooks/NN.ipynb`` is never touched here; only a ``cpu`` run replaces it (by the executed copy).
    """
    import jupytext

    target = out / "src" / source.with_suffix(".ipynb").name
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(jupytext.read(source), target)
    return target


def parameters_of(notebook: Path) -> dict:
    """The names and defaults of a notebook's papermill ``parameters`` cell."""
    import papermill

    return {name: spec["default"] for name, spec in papermill.inspect_notebook(str(notebook)).items()}


def datasets_present() -> list[str]:
    """Datasets whose files are under the data root (``synthetic`` always)."""
    from . import data

    return [name for name in DATASETS if data.available(name)]


def _runs(notebook: Path, datasets: list[str] | None) -> list[str | None]:
    """The datasets to run a notebook on: none for simulation notebooks; every dataset present for those whose
    default is ``synthetic`` (the GAN notebooks); the default alone for notebooks about one dataset (the VAE
    notebooks' ``lfw``: they fall back to ``synthetic`` themselves when it is missing).
    """
    params = parameters_of(notebook)
    if "dataset" not in params:
        return [None]
    if datasets is not None:
        return datasets
    default = params["dataset"].strip("'\"")
    return datasets_present() if default == "synthetic" else [default]


def reproduce(
    preset: str, only: list[str] | None = None, datasets: list[str] | None = None, out: Path | None = None
) -> list[tuple[str, float]]:
    """Execute every notebook at ``preset``; return (run name, seconds) pairs."""
    import papermill

    get_preset(preset)
    out = out or build_root() / preset
    out.mkdir(parents=True, exist_ok=True)
    timings = []
    for source in notebook_sources(only):
        notebook = source_notebook(source, out)
        committed = source.with_suffix(".ipynb")
        executed = {}
        for dataset in _runs(notebook, datasets):
            params = {"preset": preset}
            name = notebook.stem
            if dataset is not None:
                params["dataset"] = dataset
                name += f"_{dataset}"
            target = out / f"{name}.ipynb"
            print(f"[reproduce] {name} (preset {preset}) ...", flush=True)
            t0 = time.perf_counter()
            papermill.execute_notebook(
                str(notebook),
                str(target),
                parameters=params,
                kernel_name="python3",
                cwd=str(source.parent),
                progress_bar=False,
            )
            seconds = time.perf_counter() - t0
            print(f"[reproduce] {name}: {seconds:.1f} s -> {target}", flush=True)
            timings.append((name, seconds))
            executed[dataset] = target
        if preset == COMMITTED_PRESET:
            showcase = next((executed[d] for d in (None,) + SHOWCASE_ORDER if d in executed), None)
            shutil.copyfile(showcase, committed)
            print(f"[reproduce] committed copy {committed.name} <- {showcase.name}")
    return timings


def prepare(preset: str, out: Path, only: list[str] | None = None) -> list[Path]:
    """Inject ``preset`` into every notebook without executing it (for nbval), writing to ``out``."""
    import papermill

    get_preset(preset)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in notebook_sources(only):
        notebook = source.with_suffix(".ipynb")
        if not notebook.exists():
            raise FileNotFoundError(
                f"{notebook} is missing: run `make reproduce` (or `jupytext --to notebook {source}`) to create it"
            )
        target = out / notebook.name
        papermill.execute_notebook(
            str(notebook),
            str(target),
            parameters={"preset": preset},
            prepare_only=True,
            kernel_name="python3",
            progress_bar=False,
        )
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m otlatent.notebooks", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="execute the notebooks with papermill")
    rep.add_argument("--preset", default=COMMITTED_PRESET)
    rep.add_argument("--only", nargs="*", help="notebook number prefixes, e.g. 01 03")
    rep.add_argument("--datasets", nargs="*", help="datasets to run (default: every one present)")
    prep = sub.add_parser("prepare", help="inject parameters without executing (for nbval)")
    prep.add_argument("--preset", default="smoke")
    prep.add_argument("--out", default=None)
    prep.add_argument("--only", nargs="*")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if args.command == "reproduce":
        t0 = time.perf_counter()
        timings = reproduce(args.preset, args.only, args.datasets)
        print("\n[reproduce] wall time per notebook run:")
        for name, seconds in timings:
            print(f"  {name:<40s} {seconds:8.1f} s")
        print(f"  {'total':<40s} {time.perf_counter() - t0:8.1f} s")
    else:
        out = Path(args.out) if args.out else build_root() / "ci"
        for path in prepare(args.preset, out, args.only):
            print(f"[prepare] {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
