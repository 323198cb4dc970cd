"""Independent models trained side by side: one worker process per model, one torch thread each, on spare cores.

Small convolutional networks use two threads poorly (a DCGAN step at 32 px on 2 threads is far from twice as fast
as on one), and two processes that each start a thread per core oversubscribe the machine (measured here: 6x
slower than one thread each). The policy, for ``n`` independent jobs on a machine with ``c`` usable cores:

- ``min(n, c)`` worker processes (``$OTLATENT_WORKERS`` overrides; ``1`` trains one after another in the
  calling process, on all its threads);
- ``max(1, c // workers)`` torch threads in each worker, so the workers never ask for more threads than cores.

Every job is a function of its arguments alone (seeded runs: :mod:`otlatent.runs`), so a model trained in a
worker is bit-identical to the same model trained in the calling process with the same thread count and
precision. Each worker reports its progress to the calling process, which shows one bar per model; a job that
raises is reported with its model's name once the other jobs have finished (their models are saved and reload
on the next call), as :class:`WorkerFailed`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import time
import traceback
from collections.abc import Callable

__all__ = [
    "usable_cores",
    "worker_count",
    "threads_per_worker",
    "describe_workers",
    "Job",
    "WorkerFailed",
    "run_side_by_side",
    "progress_reporter",
]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def worker_count(n_jobs: int, workers: int | None = None) -> int:
    """Worker processes for ``n_jobs`` independent jobs: ``workers``, else ``$OTLATENT_WORKERS``, else
    ``min(n_jobs, usable_cores())``; never more than ``n_jobs``, at least 1.
    """
    if workers is None:
        env = os.environ.get("OTLATENT_WORKERS")
        if env:
            try:
                workers = int(env)
            except ValueError:
                raise ValueError(f"OTLATENT_WORKERS must be a positive integer, got {env!r}") from None
    if workers is not None and workers < 1:
        raise ValueError(f"the number of workers must be at least 1, got {workers}")
    return max(1, min(n_jobs, workers if workers is not None else usable_cores()))


def threads_per_worker(workers: int) -> int:
    """Torch threads per worker process: the usable cores shared out, at least one."""
    return max(1, usable_cores() // workers)


def describe_workers() -> str:
    """One line for a notebook's first output: how independent models are trained here."""
    cores = usable_cores()
    env = os.environ.get("OTLATENT_WORKERS")
    if cores == 1 or env == "1":
        return f"models train one after another ({cores} core{'s' if cores > 1 else ''}; OTLATENT_WORKERS sets it)"
    n = worker_count(cores)
    return (
        f"independent models train side by side: up to {n} worker processes x {threads_per_worker(n)} torch "
        f"thread(s) on {cores} cores (OTLATENT_WORKERS=1 trains them one after another)"
    )


@dataclasses.dataclass(frozen=True)
class Job:
    """One model to train: ``fn(**kwargs)`` returns something picklable (e.g. the finished model's path).

    ``fn`` must be importable by name (a module-level function) so that a worker process can run it.
    """

    name: str
    fn: Callable
    kwargs: dict = dataclasses.field(default_factory=dict)


class WorkerFailed(RuntimeError):
    """Some jobs raised; ``failures`` maps their names to the tracebacks, ``results`` holds the jobs that finished."""

    def __init__(self, failures: dict[str, str], results: dict):
        self.failures, self.results = failures, results
        done = ", ".join(results) or "none"
        lines = [f"{len(failures)} of {len(failures) + len(results)} models failed (finished and saved: {done})"]
        for name, tb in failures.items():
            last = tb.strip().splitlines()[-1] if tb.strip() else "no traceback"
            lines.append(f"- {name}: {last}\n{tb}")
        super().__init__("\n".join(lines))


# --- progress from the workers -----------------------------------------------------------------------------
_REPORTER = None  # in a worker: the queue to the calling process


def progress_reporter():
    """The queue a worker reports progress to, or ``None`` in the calling process (see :func:`progress_bar`)."""
    return _REPORTER


class _ReportingBar:
    """What :func:`otlatent.runs.progress_bar` returns inside a worker: the iterations, reported every 2 s."""

    def __init__(self, queue, name: str, start: int, end: int, total: int, unit: str):
        self.queue, self.name, self.start, self.end, self.total, self.unit = queue, name, start, end, total, unit
        self.postfix: dict = {}
        self._last = 0.0

    def _send(self, i: int) -> None:
        self.queue.put((self.name, i, self.total, self.unit, dict(self.postfix)))

    def __iter__(self):
        self._send(self.start)
        for i in range(self.start, self.end):
            yield i
            now = time.monotonic()
            if now - self._last > 2.0:
                self._last = now
                self._send(i + 1)

    def set_postfix(self, postfix: dict, refresh: bool = False) -> None:
        self.postfix = postfix

    def close(self) -> None:
        self._send(self.end)


def _init_worker(threads: int, queue) -> None:
    global _REPORTER
    _REPORTER = queue
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


def _run_job(fn, kwargs):
    """Run one job; return ``("ok", result)`` or ``("failed", traceback)`` (a failure never kills the pool)."""
    try:
        return "ok", fn(**kwargs)
    except BaseException:  # noqa: BLE001 - reported to the caller with the job's name
        return "failed", traceback.format_exc()


def _show(bars: dict, message, progress: bool) -> None:
    from tqdm.auto import tqdm

    name, i, total, unit, postfix = message
    if not progress:
        return
    if name not in bars:
        bars[name] = tqdm(total=total, desc=name, unit=unit, position=len(bars), mininterval=2.0, leave=True)
    bar = bars[name]
    bar.n = i
    if postfix:
        bar.set_postfix(postfix, refresh=False)
    bar.refresh()


def run_side_by_side(jobs: list[Job], workers: int | None = None, progress: bool = True) -> dict:
    """Run independent jobs, side by side where there are spare cores; return ``{job.name: result}``.

    Parameters
    ----------
    jobs : list of Job
        Independent jobs with distinct names.
    workers : int, optional
        Worker processes (default :func:`worker_count`); with 1 the jobs run one after another here.
    progress : bool
        One progress bar per model (``OTLATENT_PROGRESS=0`` hides them, as in ``make reproduce``).

    Raises
    ------
    WorkerFailed
        After every job has ended, when some raised (or their worker died): names and tracebacks.
    """
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be distinct, got {names}")
    if not jobs:
        return {}
    n = worker_count(len(jobs), workers)
    results, failures = {}, {}
    if n == 1:
        for job in jobs:
            status, value = _run_job(job.fn, job.kwargs)
            (results if status == "ok" else failures)[job.name] = value
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # no fork of a process that holds torch's thread pool
        queue = ctx.Queue()
        bars: dict = {}
        from .runs import show_progress

        progress = show_progress(progress)
        with concurrent.futures.ProcessPoolExecutor(
            n, mp_context=ctx, initializer=_init_worker, initargs=(threads_per_worker(n), queue)
        ) as pool:
            futures = {pool.submit(_run_job, job.fn, job.kwargs): job.name for job in jobs}
            pending = set(futures)
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=0.5)
                _drain(queue, bars, progress)
                for future in done:
                    name = futures[future]
                    try:
                        status, value = future.result()
                    except Exception as exc:  # the worker process died (killed, out of memory)
                        status, value = "failed", f"the worker process ended abnormally: {type(exc).__name__}: {exc}"
                    (results if status == "ok" else failures)[name] = value
            _drain(queue, bars, progress)
        for bar in bars.values():
            bar.close()
        queue.close()
    results = {name: results[name] for name in names if name in results}
    if failures:
        raise WorkerFailed({name: failures[name] for name in names if name in failures}, results)
    return results


def _drain(queue, bars: dict, progress: bool) -> None:
    import queue as queue_module

    while True:
        try:
            message = queue.get_nowait()
        except (queue_module.Empty, OSError, ValueError):
            return
        _show(bars, message, progress)
