"""Cost of the matched 4-point interpolation on a 10^6 x 100 float32 batch (weights 1/4 each).

Prints, in one run, side by side:

- ``gaussian``: the Gaussian prior's map, one rescaling y / sqrt(sum w_i^2) -- the memory-bound floor;
- ``uniform (exact)``: the exact piecewise-polynomial map of :mod:`otlatent.matching.uniform` (float32, torch, chunks);
- ``uniform (naive)``: a direct inclusion-exclusion power-sum formula, F(s) = sum_eps (-1)^|eps|
  (s - eps.b)_+^4 / (4! prod b), over the whole array in float64 NumPy (16 terms) -- the textbook way.

Two timings per row: the map alone, ``match(y, w, prior)`` on the precomputed y, and the whole
``matched_n_point(zs, w, prior)`` (which also forms y from 4 x 10^8 inputs). Best of ``--repeats``
runs (the naive one runs once: it takes tens of seconds). Peak memory is the process's resident
high-water mark after each row (rows run in increasing order of memory, so increases are attributable).

    .venv/bin/python benchmarks/bench_matched.py [--n 1000000] [--d 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import itertools
import math
import resource
import time

import numpy as np
import torch

from otlatent import matching, operations
from otlatent.priors import Gaussian, Uniform


def best_of(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
    return min(times), float(np.median(times))


def peak_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def naive_uniform_map(y: np.ndarray, w) -> np.ndarray:
    """T(y) = 2 F_Y(y) - 1 by the inclusion-exclusion power sum, whole arrays, float64."""
    b = [2 * abs(c) for c in w]
    n = len(b)
    s = y.astype(np.float64) + sum(abs(c) for c in w)  # S = Y + A is a sum of U[0, b_i]
    total = np.zeros_like(s)
    for eps in itertools.product((0, 1), repeat=n):
        shift = sum(e * bi for e, bi in zip(eps, b))
        total += (-1) ** sum(eps) * np.maximum(s - shift, 0.0) ** n
    F = total / (math.factorial(n) * math.prod(b))
    return (2 * F - 1).astype(y.dtype)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    w = [0.25] * 4
    gen = torch.Generator().manual_seed(0)
    zs = torch.rand(4, args.n, args.d, generator=gen).mul_(2).sub_(1)  # U[-1, 1], float32
    y = operations.n_point(zs, w)
    print(
        f"matched 4-point interpolation, {args.n:,} x {args.d} float32 ({y.numel() * 4 / 2**20:,.0f} MiB per array), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, best / median of {args.repeats}"
    )
    print(f"inputs allocated: peak RSS {peak_gib():.2f} GiB")
    rows = []
    for name, prior in (("gaussian (rescale)", Gaussian()), ("uniform (exact)", Uniform())):
        matching.match(y[:10], w, prior)  # build and cache the law outside the timing
        t_map = best_of(lambda: matching.match(y, w, prior), args.repeats)
        t_full = best_of(lambda: matching.matched_n_point(zs, w, prior), args.repeats)
        rows.append((name, t_map, t_full, peak_gib()))
    y64 = y.numpy()
    t0 = time.perf_counter()
    naive = naive_uniform_map(y64, w)
    t_naive = time.perf_counter() - t0
    rows.append(("uniform (naive power sum)", (t_naive, t_naive), None, peak_gib()))
    exact = matching.match(y, w, Uniform()).numpy()
    diff = float(np.max(np.abs(naive.astype(np.float64) - exact.astype(np.float64))))
    del naive

    g_map, g_full = rows[0][1][0], rows[0][2][0]
    print(
        f"{'map':28s} {'match(y) best':>14s} {'median':>8s} {'x gauss':>8s} {'matched_n_point':>16s} "
        f"{'x gauss':>8s} {'peak RSS':>9s}"
    )
    for name, (tb, tm), full, peak in rows:
        full_s = f"{full[0]:14.3f} s {full[0] / g_full:7.1f}x" if full else f"{'-':>16s} {'-':>8s}"
        print(f"{name:28s} {tb:12.3f} s {tm:6.3f} s {tb / g_map:7.1f}x {full_s} {peak:7.2f} GiB")
    ratio_map, ratio_full = rows[1][1][0] / g_map, rows[1][2][0] / g_full
    print(
        f"exact uniform / gaussian: {ratio_map:.1f}x (map alone), {ratio_full:.1f}x (whole matched_n_point); "
        f"target <= 8x: {'met' if ratio_map <= 8 else 'NOT met'} for the map alone"
    )
    print(f"max |naive - exact| = {diff:.2e} (naive in float64, exact in float32)")


if __name__ == "__main__":
    main()
