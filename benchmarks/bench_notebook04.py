"""Notebook 04 (and optionally 06) on one dataset, run back to back in several training configurations.

Each configuration runs the notebooks with papermill, as ``make reproduce`` does, but with its own empty models,
cache and figures folders (under a temporary directory), so every run trains its models from scratch and nothing
committed is touched. The configurations differ only in the run settings of the speed issue:

- ``defaults``: the automatic precision (bf16 on a CPU with AVX512-BF16/AMX, else fp32) and models side by side,
  one worker process and one torch thread each;
- ``fp32 side by side``: the same with ``OTLATENT_PRECISION=fp32``;
- ``fp32 one after another``: ``OTLATENT_PRECISION=fp32 OTLATENT_WORKERS=1`` (one process, torch's default threads)
  -- the reference.

It prints each run's wall time and ends with ``ratio notebook04 speed, defaults vs fp32 one after another: <x>``
(reference time / defaults time). With ``--verdicts`` it also runs notebook 06 on each configuration's models and
counts the verdict cells of its pooled evidence table (``06_evidence_<dataset>.csv``) that differ between every pair
of runs: the rerun-robustness check of the evidence issue (thread count alone, and precision).

    .venv/bin/python benchmarks/bench_notebook04.py [--dataset mnist] [--preset cpu] [--verdicts] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path
from unittest import mock

CONFIGS = {
    "defaults": {},
    "fp32 side by side": {"OTLATENT_PRECISION": "fp32"},
    "fp32 one after another": {"OTLATENT_PRECISION": "fp32", "OTLATENT_WORKERS": "1"},
}
REFERENCE = "fp32 one after another"
KEY = ["prior", "set", "score"]


def run_folder(root: Path, name: str) -> Path:
    """The folder of configuration ``name``'s models, cache, figures and executed notebooks."""
    return root / name.replace(" ", "_")


def run_config(name: str, settings: dict, root: Path, dataset: str, preset: str, notebooks: list[str]) -> dict:
    """Execute ``notebooks`` for one configuration; return {notebook: seconds}."""
    from otlatent import notebooks as nb

    folder = run_folder(root, name)
    env = {
        "OTLATENT_MODELS": folder / "models",
        "OTLATENT_CACHE": folder / "cache",
        "OTLATENT_FIGURES": folder / "figures",
        "OTLATENT_PROGRESS": "0",
        "MPLBACKEND": "Agg",
        **settings,
    }
    seconds = {}
    with mock.patch.dict(os.environ, {k: str(v) for k, v in env.items()}):  # the kernels inherit it; restored after
        for key in {"OTLATENT_PRECISION", "OTLATENT_WORKERS"} - set(settings):
            os.environ.pop(key, None)
        for source in nb.notebook_sources(notebooks):
            notebook = nb.source_notebook(source, folder)
            t0 = time.perf_counter()
            nb.execute_notebook(
                notebook,
                folder / f"{notebook.stem}_{dataset}.ipynb",
                parameters={"preset": preset, "dataset": dataset},
                cwd=source.parent,
            )
            seconds[source.stem[:2]] = time.perf_counter() - t0
            print(f"  {name:<24s} notebook {source.stem[:2]}: {seconds[source.stem[:2]]:7.1f} s", flush=True)
    return seconds


def changed_verdicts(a: Path, b: Path, dataset: str):
    """Rows of notebook 06's pooled evidence whose verdict differs between the runs in folders ``a`` and ``b``."""
    import pandas as pd

    tables = [pd.read_csv(f / "figures" / "tables" / f"06_evidence_{dataset}.csv") for f in (a, b)]
    both = tables[0].merge(tables[1], on=KEY, suffixes=("_a", "_b"))
    if len(both) != len(tables[0]) or len(both) != len(tables[1]):
        raise ValueError(f"the evidence tables of {a} and {b} do not list the same cells")
    return both, both[both.verdict_a != both.verdict_b]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--verdicts", action="store_true", help="also run notebook 06 and count changed verdicts")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs' folders here (default: temporary)")
    args = parser.parse_args()
    if REFERENCE not in args.configs or "defaults" not in args.configs:
        parser.error(f"--configs must include 'defaults' and {REFERENCE!r} (the ratio compares them)")

    from otlatent.precision import pick_precision

    print(f"notebook 04 on {args.dataset} at preset {args.preset}; automatic precision here: {pick_precision('cpu')}")
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_nb04_"))
    root.mkdir(parents=True, exist_ok=True)
    notebooks = ["04", "06"] if args.verdicts else ["04"]
    try:
        times = {
            name: run_config(name, CONFIGS[name], root, args.dataset, args.preset, notebooks) for name in args.configs
        }
        print("\nnotebook 04 wall time (trains every model of the notebook from scratch):")
        for name, seconds in times.items():
            speedup = times[REFERENCE]["04"] / seconds["04"]
            print(f"  {name:<24s} {seconds['04']:7.1f} s  ({speedup:.2f}x the reference)")
        if args.verdicts:
            print("\nnotebook 06 verdict cells that differ between runs (all cells / without 'random vs random'):")
            for a, b in itertools.combinations(args.configs, 2):
                both, diff = changed_verdicts(run_folder(root, a), run_folder(root, b), args.dataset)
                real = diff.set != "random vs random"
                print(
                    f"  {a} vs {b}: {len(diff)} of {len(both)}; "
                    f"{int(real.sum())} of {int((both.set != 'random vs random').sum())}"
                )
                for _, row in diff.iterrows():
                    print(f"    {row.prior:9s} {row.set:20s} {row.score:10s} {row.verdict_a!r} -> {row.verdict_b!r}")
        ratio = times[REFERENCE]["04"] / times["defaults"]["04"]
        print(f"ratio notebook04 speed, defaults vs fp32 one after another: {ratio:.2f}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
