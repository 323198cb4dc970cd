"""Time otlatent.transport1d.wasserstein_1d against POT's ot.wasserstein_1d on 10^6 samples per side.

Run: ``.venv/bin/python benchmarks/bench_wasserstein_1d.py [--n 1000000] [--repeats 5]``

POT returns W_p^p, so its value is raised to 1/p before comparing.  Each timing is the best of
``--repeats`` runs (both functions sort their inputs, so every run does the full work).  Besides the
relative difference between the two, the table gives each one's relative error against the same
quantile formula evaluated in extended precision (numpy ``longdouble``): it shows which side a
difference comes from (POT accumulates the uniform weights 1/n with a float64 cumulative sum,
whose rounding drifts the quantile levels by up to ~n * 1e-16).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import ot
import pandas as pd

from otlatent import transport1d


def best_time(fn, repeats: int) -> tuple[float, float]:
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def reference_wp(x, y, p, wx=None, wy=None) -> float:
    """W_p by the quantile formula in long double: levels, widths and the sum in extended precision."""
    ld = np.longdouble

    def levels(v, w):
        order = np.argsort(v, kind="stable")
        if w is None:
            return v[order], np.arange(1, v.size + 1, dtype=ld) / ld(v.size)
        cw = np.cumsum(w[order].astype(ld))
        return v[order], cw / cw[-1]

    xs, cx = levels(x, wx)
    ys, cy = levels(y, wy)
    merged = np.concatenate([cx, cy])
    order = np.argsort(merged, kind="stable")
    merged = merged[order]
    fx = order < x.size
    ix = np.minimum(np.cumsum(fx) - fx, x.size - 1)
    iy = np.minimum(np.cumsum(~fx) - ~fx, y.size - 1)
    widths = np.diff(merged, prepend=ld(0))
    diff = np.abs(xs[ix].astype(ld) - ys[iy].astype(ld))
    return float(np.sum(widths * diff ** ld(p)) ** (ld(1) / ld(p)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="samples per side")
    parser.add_argument("--repeats", type=int, default=5, help="timings per function (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = args.n
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=n)
    y = rng.normal(0.5, 1.5, size=n)
    y_short = rng.normal(0.5, 1.5, size=(3 * n) // 4)
    wx, wy = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    cases = [
        ("equal sizes", x, y, None, None),
        (f"n vs {(3 * n) // 4:,}", x, y_short, None, None),
        ("weighted", x, y, wx, wy),
    ]
    print(f"W_p between x ~ N(0,1) ({n:,} samples) and y ~ N(0.5, 1.5^2); best of {args.repeats} runs")
    print(f"numpy {np.__version__} | POT {ot.__version__} | python {platform.python_version()} | {platform.machine()}")
    rows = []
    for name, a, b, wa, wb in cases:
        for p in (1, 2, 3):
            t_ours, v_ours = best_time(lambda: transport1d.wasserstein_1d(a, b, p, wa, wb), args.repeats)
            t_pot, v_pot = best_time(lambda: ot.wasserstein_1d(a, b, wa, wb, p=p) ** (1 / p), args.repeats)
            ref = reference_wp(a, b, p, wa, wb)
            rows.append(
                {
                    "case": name,
                    "p": p,
                    "W_p (ours)": v_ours,
                    "ours [ms]": 1e3 * t_ours,
                    "POT [ms]": 1e3 * t_pot,
                    "speed-up": t_pot / t_ours,
                    "|ours-POT|/POT": abs(v_ours - v_pot) / abs(v_pot),
                    "ours err": abs(v_ours - ref) / ref,
                    "POT err": abs(v_pot - ref) / ref,
                }
            )
    df = pd.DataFrame(rows)
    print(
        df.to_string(
            index=False,
            formatters={
                "W_p (ours)": "{:.10f}".format,
                "ours [ms]": "{:.1f}".format,
                "POT [ms]": "{:.1f}".format,
                "speed-up": "{:.2f}x".format,
                "|ours-POT|/POT": "{:.1e}".format,
                "ours err": "{:.1e}".format,
                "POT err": "{:.1e}".format,
            },
        )
    )
    print("(err: relative error against the same formula in long double precision)")
    worst = df["|ours-POT|/POT"].max()
    slowest = df["speed-up"].min()
    print(
        f"max relative difference {worst:.1e} ({'<=' if worst <= 1e-9 else '>'} 1e-9); "
        f"ours is {slowest:.2f}x POT's speed or better in every row"
    )
    if worst > 1e-9 or slowest < 1:
        raise SystemExit("benchmark criterion not met: relative difference > 1e-9 or slower than POT")


if __name__ == "__main__":
    main()
