"""Project-wide pytest hooks: one torch thread per test process, and how long each notebook took under nbval."""

import os
from collections import defaultdict
from pathlib import Path

# One thread per process: `make test-lib` runs one pytest worker per core (pytest-xdist), and nbval's kernels inherit
# the environment. Two processes with two threads each on two cores run several times slower than with one each.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = os.environ.get(_var) or "1"


def pytest_configure(config):
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


_notebook_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = Path(report.fspath)
    if path.suffix == ".ipynb":
        _notebook_seconds[path.name] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    terminalreporter.section("notebook wall time (nbval, all cells)")
    for name, seconds in sorted(_notebook_seconds.items()):
        terminalreporter.write_line(f"{name:<45s} {seconds:8.1f} s")
    terminalreporter.write_line(f"{'total':<45s} {sum(_notebook_seconds.values()):8.1f} s")
