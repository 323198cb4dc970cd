"""DCGAN training throughput: otlatent's training with its defaults vs the pytorch/examples fp32 loop, in one run.

The reference is the loop of pytorch/examples ``dcgan/main.py`` (a shuffled ``DataLoader``, ``torch.randn``
noise, ``nn.BCELoss`` on a sigmoid output, separate real and fake discriminator batches, float32, NCHW, torch's
default threads) around the same architecture and batch size. Ours is ``train_dcgan`` with the study's defaults
(:mod:`otlatent.precision`: bf16 autocast on CPUs with native bfloat16, else fp32; channels-last), timed

- alone, on torch's default threads (one model, as in notebook 07's single VAE);
- two models side by side (:mod:`otlatent.side_by_side`), as notebook 04 trains its two priors: the images/s of
  both together against the reference training them one after another.

Both at 32 px / width 32 (the cpu preset) and 64 px / width 64 (the paper's), timed over the same iterations after
a warm-up, repeats alternated so that machine noise hits both alike; best of the repeats. Rows for a forced
precision show what the automatic choice avoids. ``--quality`` adds the FID (in the study's own feature space: the
small CNN of :mod:`otlatent.classifier`, trained here on the synthetic set) of 2,000 samples of short bf16 and fp32
runs of one seed against 2,000 held-out images, beside an fp32 run of another seed (the run-to-run spread).

The last line is ``ratio dcgan-32px speed vs pytorch/examples: <x>`` (two models side by side at 32 px, images/s
over the reference's; higher is better).

    python benchmarks/bench_dcgan.py [--iters 60] [--repeats 2] [--sizes 32x32 64x64] [--quality]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from otlatent import data
from otlatent.dcgan import Discriminator, GANConfig, Generator, load_generator, train_dcgan
from otlatent.precision import cpu_has_bf16, pick_precision
from otlatent.side_by_side import Job, run_side_by_side, usable_cores, worker_count
from otlatent.trained import train_job


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


def _config(res, width, batch, iters, prior="gaussian", precision=None, seed=0):
    return GANConfig(
        dataset="synthetic",
        prior=prior,
        resolution=res,
        nc=3,
        width=width,
        batch_size=batch,
        iterations=iters,
        preset="bench",
        seed=seed,
        precision=precision or pick_precision("cpu"),
    )


def ours(images, res, width, batch, iters, precision=None) -> float:
    """Seconds of train_dcgan's own loop for ``iters`` iterations (its ``seconds`` record after a 2-iteration
    warm-up that is resumed from its checkpoint; no sample-grid snapshots)."""
    tmp = tempfile.mkdtemp()
    try:
        return warm_then_time(_config(res, width, batch, iters + 2, precision=precision), images, tmp)
    finally:
        shutil.rmtree(tmp)


def warm_then_time(config, images, run_dir) -> float:
    """2 warm-up iterations, then the rest resumed from their checkpoint; the seconds of the rest (no snapshots)."""
    warm = train_dcgan(images, config, run_dir, stop_after=2, progress=False, n_snapshots=0)
    return train_dcgan(images, config, run_dir, progress=False, n_snapshots=0).seconds - warm.seconds


def ours_side_by_side(images, res, width, batch, iters) -> tuple[float, float]:
    """Two models (Gaussian and uniform prior) trained side by side (:func:`run_side_by_side`, as notebook 04 does):
    (loop seconds of the slower after the warm-up, wall seconds including the workers' start-up)."""
    tmp = Path(tempfile.mkdtemp())
    try:
        jobs = [
            Job(
                p,
                warm_then_time,
                {"config": _config(res, width, batch, iters + 2, p), "images": images, "run_dir": tmp / p},
            )
            for p in ("gaussian", "uniform")
        ]
        t0 = time.perf_counter()
        loops = run_side_by_side(jobs, progress=False)
        return max(loops.values()), time.perf_counter() - t0
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


def quality(iters: int) -> None:
    """FID of short bf16 / fp32 runs of one seed and an fp32 run of another seed, in the classifier's features."""
    from otlatent.classifier import ClassifierConfig, train_classifier
    from otlatent.metrics import frechet_distance

    train = data.make_synthetic(8192, 32, seed=0)
    held_out = data.make_synthetic(4000, 32, seed=1)
    tmp = Path(tempfile.mkdtemp())
    try:
        clf_cfg = ClassifierConfig(dataset="synthetic", width=16, epochs=4, n_train=3000, n_test=1000, preset="bench")
        clf = train_classifier(held_out.images_u8, held_out.labels, clf_cfg, tmp / "clf", progress=False)
        real = clf.features(held_out.images_u8[2000:])["pool"]
        runs = {"fp32 seed 0": ("fp32", 0), "bf16 seed 0": ("bf16", 0), "fp32 seed 1": ("fp32", 1)}
        jobs = [
            Job(
                name,
                train_job,
                {
                    "config": _config(32, 32, 64, iters, precision=p, seed=s),
                    "images": train,
                    "run_dir": tmp / name.replace(" ", "_"),
                },
            )
            for name, (p, s) in runs.items()
        ]
        fids = {}
        for name, path in run_side_by_side(jobs, progress=False).items():
            run = load_generator(path)
            z = run.prior.sample(2000, 100, seed=123)
            samples = ((run.generate(z) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
            fids[name] = frechet_distance(clf.features(samples)["pool"], real)
        print(
            f"\nquality after {iters} iterations (32 px, width 32, batch 64), FID of 2,000 samples to 2,000 "
            f"held-out images in the classifier's pool features (test accuracy {clf.test_accuracy:.3f}):"
        )
        for name, fid in fids.items():
            print(f"  {name:<12s} FID {fid:8.3f}")
        spread = abs(fids["fp32 seed 1"] - fids["fp32 seed 0"])
        shift = abs(fids["bf16 seed 0"] - fids["fp32 seed 0"])
        print(
            f"  |bf16 - fp32| same seed: {shift:.3f}; |seed 1 - seed 0| in fp32: {spread:.3f} -> bf16 "
            f"{'within' if shift <= spread else 'OUTSIDE'} the run-to-run spread"
        )
    finally:
        shutil.rmtree(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=["32x32", "64x64"], help="resolution x width")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quality", action="store_true", help="also the FID of short bf16 and fp32 runs")
    parser.add_argument("--quality-iters", type=int, default=400)
    args = parser.parse_args()
    threads, cores = torch.get_num_threads(), usable_cores()
    auto = pick_precision("cpu")
    print(
        f"torch {torch.__version__}, {threads} threads by default, {cores} usable cores, side by side: "
        f"{worker_count(2)} workers; native bf16 on this CPU: {cpu_has_bf16()}; automatic precision: {auto}"
    )
    headline = None
    for size in args.sizes:
        res, width = (int(v) for v in size.split("x"))
        images = data.make_synthetic(max(2048, args.batch * (args.iters + 4)), res, seed=0)
        forced = "bf16" if auto == "fp32" else "fp32"
        t = {"ref": [], "ours": [], "forced": [], "pair": [], "pair_wall": []}
        for _ in range(args.repeats):
            t["ref"].append(reference_loop(images.images_u8, res, width, args.batch, args.iters, 3))
            t["ours"].append(ours(images, res, width, args.batch, args.iters))
            t["forced"].append(ours(images, res, width, args.batch, args.iters, precision=forced))
            loop, wall = ours_side_by_side(images, res, width, args.batch, args.iters)
            t["pair"].append(loop / 2)  # two models' images in `loop` seconds
            t["pair_wall"].append(wall / 2)
        flops = flops_per_iteration(res, width, args.batch, 3)
        peak, peak_text = cpu_peak_gflops(cores)
        print(
            f"\nDCGAN {res}px, width {width}, batch {args.batch}, {args.iters} iterations x {args.repeats} repeats "
            f"(best of); {flops / 1e9:.2f} GFLOP per iteration; fp32 peak {peak:.0f} GFLOP/s = {peak_text}"
        )
        print(f"{'loop':<52s}{'images/s':>10s}{'x ref':>8s}{'% peak':>8s}")
        ref_rate = args.batch * args.iters / min(t["ref"])
        rows = (
            ("pytorch/examples reference (fp32, NCHW, default threads)", t["ref"]),
            (f"otlatent, one model ({auto}, channels-last)", t["ours"]),
            (f"otlatent, one model, forced {forced}", t["forced"]),
            (f"otlatent, two models side by side ({auto}), loop", t["pair"]),
            ("otlatent, two models side by side, incl. worker start", t["pair_wall"]),
        )
        for name, times in rows:
            rate = args.batch * args.iters / min(times)
            gflops = flops * rate / args.batch / 1e9
            print(f"{name:<52s}{rate:10.1f}{rate / ref_rate:8.2f}{100 * gflops / peak:8.1f}")
        if res == 32:
            headline = args.batch * args.iters / min(t["pair"]) / ref_rate
    if args.quality:
        quality(args.quality_iters)
    if headline is not None:
        print(f"\nratio dcgan-32px speed vs pytorch/examples: {headline:.2f}")


if __name__ == "__main__":
    main()
