"""One rank of the two-process runs of tests/test_distributed.py (``torchrun --nproc_per_node=2 ddp_worker.py``).

Arguments: ``OUT JOB...``.

Each job is ``bn`` (the global batch norm on a fixed batch) or ``NAME:dcgan|vae:RUN_DIR[:STOP_AFTER]`` (the tiny
config of the tests, on synthetic images, under torchrun with gloo on CPU). Every rank checks that it ends with the
weights of rank 0; rank 0 saves the weights and the history to ``OUT/NAME.pt``; the ``bn`` job saves each rank's
results to ``OUT/bn_rank<r>.pt``.
"""

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from otlatent import data, distributed
from otlatent.dcgan import GANConfig, train_dcgan
from otlatent.precision import FP32BatchNorm2d
from otlatent.vae import VAEConfig, train_vae

GAN = dict(dataset="synthetic", prior="gaussian", resolution=32, width=8, batch_size=16, iterations=8, seed=3)
VAE = dict(dataset="synthetic", resolution=32, width=8, nz=16, batch_size=16, iterations=8, seed=3, learn_sigma=True)
SNAPSHOTS = 2


def bn_batch(dtype=torch.float32):
    """The global batch of the batch-norm check, its upstream gradient and the layer's affine parameters."""
    gen = torch.Generator().manual_seed(5)
    x = 3 * torch.randn(16, 6, 5, 5, generator=gen) + 2
    g, weight, bias = (torch.randn(*shape, generator=gen) for shape in ((16, 6, 5, 5), (6,), (6,)))
    return x.to(dtype), g, 1 + weight, bias


def batchnorm_job(out: Path) -> None:
    results = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        x, g, weight, bias = bn_batch(dtype)
        bn = FP32BatchNorm2d(6)
        with torch.no_grad():
            bn.weight.copy_(weight)
            bn.bias.copy_(bias)
        layer = distributed.global_batchnorm(torch.nn.Sequential(bn))[0]
        assert isinstance(layer, distributed.GlobalBatchNorm2d)
        x = distributed.shard(x).clone().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
            y = layer(x)
        (y * distributed.shard(g)).sum().backward()
        results[name] = {
            "y": y.detach(),
            "x_grad": x.grad,
            "weight_grad": layer.weight.grad,
            "bias_grad": layer.bias.grad,
            "running_mean": layer.running_mean,
            "running_var": layer.running_var,
            "num_batches_tracked": layer.num_batches_tracked,
        }
    torch.save(results, out / f"bn_rank{distributed.rank()}.pt")


def training_job(out: Path, name: str, kind: str, run_dir: str, stop_after: int | None) -> None:
    images = data.make_synthetic(128, 32, seed=0)
    if kind == "dcgan":
        config = GANConfig(**GAN, preset="smoke")
        run = train_dcgan(images, config, run_dir, stop_after=stop_after, progress=False, n_snapshots=SNAPSHOTS)
        weights = {"G": run.generator.state_dict(), "D": run.discriminator.state_dict()}
    else:
        run = train_vae(images, VAEConfig(**VAE, preset="smoke"), run_dir, stop_after=stop_after, progress=False)
        weights = {"model": run.model.state_dict()}
    flat = torch.cat([v.double().flatten() for part in weights.values() for v in part.values()])
    mine = flat.clone()
    dist.broadcast(flat, 0)
    assert torch.equal(mine, flat), f"rank {distributed.rank()} holds other weights than rank 0"
    if distributed.is_main():
        torch.save(
            {**weights, "history": run.history, "iteration": run.iteration, "world": distributed.world_size()},
            out / f"{name}.pt",
        )


def main(out: str, *jobs: str) -> None:
    torch.set_num_threads(1)
    distributed.start("cpu")
    for job in jobs:
        if job == "bn":
            batchnorm_job(Path(out))
        else:
            name, kind, run_dir, *stop = job.split(":")
            training_job(Path(out), name, kind, run_dir, int(stop[0]) if stop else None)
    distributed.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
