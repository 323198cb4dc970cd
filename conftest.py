"""Project-wide pytest hooks: report how long each notebook took under nbval."""
from collections import defaultdict
from pathlib import Path

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
