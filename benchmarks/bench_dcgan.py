"""DCGAN training throughput: otlatent.dcgan.train_dcgan vs the plain pytorch/examples recipe, in one run.

The reference is the loop of pytorch/examples ``dcgan/main.py`` (a shuffled
``DataLoader``, ``torch.randn`` noise, ``nn.BCELoss`` on a sigmoid output, separate
real and fake discriminator batches) around the same architecture and batch size.
Both are timed over the same number of iterations after a warm-up, alternating
repeats so that machine noise hits both alike.  The fraction of the CPU's fp32
peak uses FLOPs counted by ``torch.utils.flop_counter`` and a peak of
cores x clock x FLOPs/cycle (AVX-512: 64, AVX2+FMA: 32, else 8).

    python benchmarks/bench_dcgan.py [--resolution 32] [--width 32] [--batch 64] [--iters 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from otlatent import data
from otlatent.dcgan import Discriminator, GANConfig, Generator, train_dcgan


def cpu_peak_gflops(threads: int) -> tuple[float, str]:
    flags, mhz = "", 0.0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags") and not flags:
                    flags = line
                if line.startswith("cpu MHz") and not mhz:
                    mhz = float(line.split(":")[1])
    except OSError:
        pass
    per_cycle, isa = (64, "AVX-512") if "avx512f" in flags else (32, "AVX2+FMA") if "fma" in flags else (8, "SSE")
    ghz = mhz / 1000 if mhz else 2.5
    return threads * ghz * per_cycle, f"{threads} cores x {ghz:.2f} GHz x {per_cycle} FLOP/cycle ({isa})"


def reference_loop(images_u8: np.ndarray, res: int, width: int, batch: int, iters: int, nc: int) -> float:
    """pytorch/examples dcgan/main.py, trimmed to the training loop; returns seconds for ``iters`` iterations."""
    netG = Generator(100, nc, width, res)
    netD = nn.Sequential(Discriminator(nc, width, res), nn.Sigmoid())
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x = torch.from_numpy(images_u8).float().div(127.5).sub(1)
    loader = DataLoader(TensorDataset(x), batch_size=batch, shuffle=True, drop_last=True)
    it, t0 = 0, None
    while True:
        for (real,) in loader:
            if it == 2:
                t0 = time.perf_counter()  # after warm-up
            netD.zero_grad()
            label = torch.full((batch,), 1.0)
            errD_real = criterion(netD(real), label)
            errD_real.backward()
            noise = torch.randn(batch, 100)
            fake = netG(noise)
            label.fill_(0.0)
            errD_fake = criterion(netD(fake.detach()), label)
            errD_fake.backward()
            optD.step()
            netG.zero_grad()
            label.fill_(1.0)
            errG = criterion(netD(fake), label)
            errG.backward()
            optG.step()
            it += 1
            if it == iters + 2:
                return time.perf_counter() - t0


def ours(images: data.ImageSet, res: int, width: int, batch: int, iters: int, nc: int) -> float:
    """Seconds of train_dcgan's own loop for ``iters`` iterations (its ``seconds`` record, set-up excluded as
    for the reference)."""
    tmp = tempfile.mkdtemp()
    try:
        cfg = GANConfig(
            dataset="synthetic",
            prior="gaussian",
            resolution=res,
            nc=nc,
            width=width,
            batch_size=batch,
            iterations=iters + 2,
            preset="bench",
        )
        # warm-up, then resume from its checkpoint; no sample-grid snapshots (a fixed cost of one 64-image
        # forward pass each, independent of the number of iterations)
        warm = train_dcgan(images, cfg, tmp, stop_after=2, progress=False, n_snapshots=0)
        run = train_dcgan(images, cfg, tmp, progress=False, n_snapshots=0)
        return run.seconds - warm.seconds
    finally:
        shutil.rmtree(tmp)


def flops_per_iteration(res: int, width: int, batch: int, nc: int) -> float:
    G, D = Generator(100, nc, width, res), Discriminator(nc, width, res)
    loss = nn.BCEWithLogitsLoss()
    real = torch.randn(batch, nc, res, res)
    with FlopCounterMode(display=False) as counter:
        fake = G(torch.randn(batch, 100))
        (loss(D(real), torch.ones(batch)) + loss(D(fake.detach()), torch.zeros(batch))).backward()
        loss(D(fake), torch.ones(batch)).backward()
    return float(counter.get_total_flops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iters", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    images = data.make_synthetic(max(2048, args.batch * (args.iters + 4)), args.resolution, seed=0)
    nc = 3
    t_ref, t_ours = [], []
    for _ in range(args.repeats):
        t_ref.append(reference_loop(images.images_u8, args.resolution, args.width, args.batch, args.iters, nc))
        t_ours.append(ours(images, args.resolution, args.width, args.batch, args.iters, nc))
    flops = flops_per_iteration(args.resolution, args.width, args.batch, nc)
    peak, peak_text = cpu_peak_gflops(threads)
    print(
        f"DCGAN {args.resolution}px, width {args.width}, batch {args.batch}, {args.iters} iterations x "
        f"{args.repeats} repeats (best of), torch {torch.__version__}, {threads} threads, {os.cpu_count()} CPUs"
    )
    print(f"FLOPs per iteration: {flops / 1e9:.2f} GFLOP; fp32 peak {peak:.0f} GFLOP/s = {peak_text}")
    print(f"{'loop':<28s}{'best s':>9s}{'images/s':>10s}{'GFLOP/s':>9s}{'% peak':>8s}")
    for name, times in (("pytorch/examples reference", t_ref), ("otlatent.train_dcgan", t_ours)):
        best = min(times)
        rate = flops * args.iters / best / 1e9
        print(f"{name:<28s}{best:9.2f}{args.batch * args.iters / best:10.1f}{rate:9.1f}{100 * rate / peak:8.1f}")
    print(f"ours / reference time: {min(t_ours) / min(t_ref):.3f} (below 1 = ours faster)")


if __name__ == "__main__":
    main()
