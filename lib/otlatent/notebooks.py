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
import functools
import os
import queue
import shutil
import sys
import time
from pathlib import Path

from .config import DATASETS, build_root, get_preset, project_root

__all__ = [
    "notebook_sources",
    "source_notebook",
    "parameters_of",
    "datasets_present",
    "kernel_config",
    "execute_notebook",
    "reproduce",
    "prepare",
    "main",
]

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


#: Name under which :func:`execute_notebook` registers its papermill engine.
ENGINE_NAME = "otlatent"
#: Seconds to wait, before shutting a kernel down, for it to finish its last request.
SETTLE_TIMEOUT = 10.0


def kernel_config():
    """Configuration of the kernel manager that papermill starts for every notebook run.

    ipykernel warns at every start that a kernel reached over TCP exchanges code and outputs in plain text, and
    advises the IPC transport or CurveZMQ keys provisioned by the kernel manager. Where ZeroMQ has IPC (Linux,
    macOS) the kernel is reached over Unix sockets next to its connection file (which only its owner can read),
    so there is nothing left to warn about. Elsewhere the kernel stays on TCP and the warning, which then holds,
    is printed.
    """
    import zmq
    from traitlets.config import Config

    config = Config()
    if os.name == "posix" and zmq.has("ipc"):
        config.KernelManager.transport = "ipc"
    return config


@functools.cache
def _engine() -> str:
    """Register (once) papermill's nbclient engine with a client that lets the kernel settle before shutdown.

    papermill ends a run with a ``kernel_info`` request and stops the kernel as soon as the reply arrives;
    jupyter_client's shutdown starts with an interrupt (SIGINT), which then may land while the kernel is still
    inside that request's handler, and ipykernel logs ``ERROR | KeyboardInterrupt caught in kernel`` although
    nothing failed. The messaging protocol marks the end of a request by an ``idle`` status on IOPub whose parent
    is the request; the client below sends one more ``kernel_info`` request and waits for that ``idle`` (at most
    :data:`SETTLE_TIMEOUT` seconds) before the usual shutdown, so the interrupt finds the kernel between requests.
    A kernel that is still busy (a cell that timed out) or dead is shut down as before.
    """
    from nbclient.util import ensure_async, run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    class SettlingClient(PapermillNotebookClient):
        async def _async_settle(self) -> None:
            if self.kc is None or self.km is None or not await ensure_async(self.km.is_alive()):
                return
            msg_id = await ensure_async(self.kc.kernel_info())
            deadline = time.monotonic() + SETTLE_TIMEOUT
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=left))
                except queue.Empty:
                    return
                if (
                    msg["msg_type"] == "status"
                    and msg["content"].get("execution_state") == "idle"
                    and msg["parent_header"].get("msg_id") == msg_id
                ):
                    return

        async def _async_cleanup_kernel(self) -> None:
            try:
                await self._async_settle()
            finally:
                await super()._async_cleanup_kernel()

        _cleanup_kernel = run_sync(_async_cleanup_kernel)

    class SettlingEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            kwargs.pop("input_path", None)
            kwargs.pop("startup_timeout", None)
            timeout = kwargs.pop("timeout", None)
            client = SettlingClient(
                nb_man,
                timeout=execution_timeout or timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                **kwargs,
            )
            return client.execute()

    papermill_engines.register(ENGINE_NAME, SettlingEngine)
    return ENGINE_NAME


def execute_notebook(notebook: Path, target: Path, parameters: dict, cwd: Path | None = None, **kwargs):
    """Execute ``notebook`` with papermill into ``target``, as ``make reproduce`` does.

    The kernel is configured by :func:`kernel_config` and shut down by the engine of :func:`_engine`, so that a
    run prints neither the TCP warning nor the spurious ``KeyboardInterrupt`` line; every real warning and error
    (a failing cell raises papermill's ``PapermillExecutionError``) is reported as before.
    """
    import papermill

    kwargs.setdefault("config", kernel_config())
    return papermill.execute_notebook(
        str(notebook),
        str(target),
        parameters=parameters,
        kernel_name="python3",
        engine_name=_engine(),
        cwd=None if cwd is None else str(cwd),
        progress_bar=False,
        **kwargs,
    )


def reproduce(
    preset: str, only: list[str] | None = None, datasets: list[str] | None = None, out: Path | None = None
) -> list[tuple[str, float]]:
    """Execute every notebook at ``preset``; return (run name, seconds) pairs."""
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
            execute_notebook(notebook, target, parameters=params, cwd=source.parent)
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
    os.environ.setdefault("OTLATENT_PROGRESS", "0")  # executed notebooks keep results, not bar updates
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
