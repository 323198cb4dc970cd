"""Cost of the matched 4-point interpolation on a 10^6 x 100 float32 batch (weights 1/4 each).

Prints, in one run, side by side:

- ``gaussian``: the Gaussian prior's map, one rescaling y / sqrt(sum w_i^2) -- the memory-bound reference;
- ``uniform (exact)``: the exact piecewise-polynomial map of :mod:`otlatent.matching.uniform` as ``match``
  runs it: the fused (``torch.compile``) kernel where it is available, else the eager one;
- ``uniform (exact, eager)``: the same map by the eager kernel (torch ops over cache-sized chunks), the fallback;
- ``uniform (naive)``: a direct inclusion-exclusion power-sum formula, F(s) = sum_eps (-1)^|eps|
  (s - eps.b)_+^4 / (4! prod b), over the whole array in float64 NumPy (16 terms) -- the textbook way.

Two timings per row: the map alone, ``match(y, w, prior)`` on the precomputed y, and the whole
``matched_n_point(zs, w, prior)`` (which also forms y from 4 x 10^8 inputs). Every row reads the same y and
allocates a fresh output per call. Best of ``--repeats`` runs after one untimed first call; the first call of
the fused kernel (compilation, from the inductor disk cache if warm, and its check against the eager kernel) is
printed separately and not in the ratio. The naive one runs once: it takes tens of seconds. Peak memory is the
process's resident high-water mark after each row (rows run in increasing order of memory, so increases are
attributable). The run ends with the goal (the exact uniform map alone at most 3x the Gaussian rescale) and
the ratio gaussian time / uniform time (higher is better; the goal is >= 1/3).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_matched.py [--n 1000000] [--d 100] [--repeats 5]
    [--threads 1]
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
from otlatent.matching import uniform
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
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    w = [0.25] * 4
    gen = torch.Generator().manual_seed(0)
    zs = torch.rand(4, args.n, args.d, generator=gen).mul_(2).sub_(1)  # U[-1, 1], float32
    y = operations.n_point(zs, w)
    print(
        f"matched 4-point interpolation, {args.n:,} x {args.d} float32 ({y.numel() * 4 / 2**20:,.0f} MiB per array), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, best / median of {args.repeats}"
    )
    print(f"inputs allocated: peak RSS {peak_gib():.2f} GiB")
    law = matching.sum_law(Uniform(), w)
    fused = y.numel() >= uniform.FUSED_MIN and uniform.fused_available()
    t0 = time.perf_counter()
    first = matching.match(y, w, Uniform())  # builds the fused kernel (compiles, checks it) where available
    t_first = time.perf_counter() - t0
    fused = fused and uniform.fused_available() and law._fused_ok(torch.float32)
    del first
    if fused:
        kernel = "fused (torch.compile)"
    elif y.numel() < uniform.FUSED_MIN:
        kernel = f"eager (below FUSED_MIN = {uniform.FUSED_MIN:,} elements)"
    else:
        kernel = "eager (fused kernel unavailable or off)"
    print(f"uniform map: {kernel} kernel; first call {t_first:.2f} s (compile + check; not in the timings below)")
    rows = []
    cases = (
        ("gaussian (rescale)", Gaussian(), None),
        ("uniform (exact)", Uniform(), None),
        ("uniform (exact, eager)", Uniform(), law._transport_eager),
    )
    for name, prior, direct in cases:
        matching.match(y[:10], w, prior)  # build and cache the law outside the timing
        one = (lambda: direct(y)) if direct else (lambda p=prior: matching.match(y, w, p))
        one()  # untimed first call
        t_map = best_of(one, args.repeats)
        if direct is None:
            t_full = best_of(lambda p=prior: matching.matched_n_point(zs, w, p), args.repeats)
        else:
            t_full = None
        rows.append((name, t_map, t_full, peak_gib()))
    exact = matching.match(y, w, Uniform()).numpy()
    eager = law._transport_eager(y).numpy()
    diff_eager = float(np.max(np.abs(eager.astype(np.float64) - exact.astype(np.float64))))
    del eager
    y64 = y.numpy()
    t0 = time.perf_counter()
    naive = naive_uniform_map(y64, w)
    t_naive = time.perf_counter() - t0
    rows.append(("uniform (naive power sum)", (t_naive, t_naive), None, peak_gib()))
    diff = float(np.max(np.abs(naive.astype(np.float64) - exact.astype(np.float64))))
    del naive

    g_map, g_full = rows[0][1][0], rows[0][2][0]
    print(
        f"{'map':28s} {'match(y) best':>14s} {'median':>8s} {'x gauss':>8s} {'matched_n_point':>16s} "
        f"{'x gauss':>8s} {'peak RSS':>9s}"
    )
    for name, (tb, tm), full, peak in rows:
        full_s = f"{full[0]:14.3f} s {full[0] / g_full:7.1f}x" if full else f"{'-':>16s} {'-':>8s}"
        print(f"{name:28s} {tb:12.3f} s {tm:6.3f} s {tb / g_map:7.2f}x {full_s} {peak:7.2f} GiB")
    u_map, u_full = rows[1][1][0], rows[1][2][0]
    print(
        f"exact uniform / gaussian: {u_map / g_map:.2f}x (map alone, {kernel}), {u_full / g_full:.2f}x "
        f"(whole matched_n_point); eager kernel {rows[2][1][0] / g_map:.2f}x"
    )
    print(f"max |naive - exact| = {diff:.2e} (naive in float64, exact in float32)")
    print(f"max |eager - exact| = {diff_eager:.2e} (both float32)")
    ratio = g_map / u_map
    print(f"goal (exact uniform map alone <= 3x the gaussian rescale): {'met' if ratio >= 1 / 3 else 'NOT met'}")
    print(f"ratio uniform-map speed vs gaussian rescale: {ratio:.3f}")


if __name__ == "__main__":
    main()
