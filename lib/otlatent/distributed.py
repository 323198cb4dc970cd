"""Many processes, one model: the training loops under ``torchrun`` with DistributedDataParallel.

Under ``torchrun --nproc_per_node=N`` (which sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``) every process, a
*rank*, runs the same training loop on its own device: :func:`start` joins the process group (NCCL on CUDA, gloo on
CPUs) and gives each rank its GPU; without torchrun (or with one process) every function here is a pass-through
and a training run is exactly the single-process one.

What makes N ranks train the model that one process trains with the same global batch:

* every random draw stays a function of ``(seed, iteration)`` of the *global* batch
  (:func:`otlatent.runs.batch_indices`, :func:`otlatent.runs.iteration_seed`, the prior's latents of the whole
  batch): each rank draws the global batch and keeps its :func:`shard`, so the N ranks together see exactly the
  images and latents that one process sees;
* batch norm normalises with statistics of the global batch (:class:`GlobalBatchNorm2d`, all-reduced and
  differentiable), as one process does;
* each rank's loss is the mean over its shard and DistributedDataParallel averages the gradients over the ranks:
  the gradient of the global mean (:func:`wrap`);
* the logged terms are averaged over the ranks (:func:`mean_over_ranks`), so every rank records (and checks for
  NaN) the history that one process records;
* rank 0 alone writes checkpoints and the finished model, the others wait for it where it matters
  (:func:`barrier`, :func:`main_first`), and on resume every rank loads the same checkpoint.

The weights then agree with one process's to float rounding (a sum over the batch is added up in another order),
not bit for bit; ``tests/test_distributed.py`` measures it with two gloo processes on CPU.
"""

from __future__ import annotations

import contextlib
import datetime
import inspect
import os

import torch
import torch.distributed as dist
from torch import nn

from .precision import FP32BatchNorm2d

__all__ = [
    "launched",
    "start",
    "stop",
    "rank",
    "local_rank",
    "world_size",
    "is_main",
    "barrier",
    "main_first",
    "shard_size",
    "shard",
    "mean_over_ranks",
    "GlobalBatchNorm2d",
    "global_batchnorm",
    "local_batchnorm",
    "wrap",
]


def launched() -> bool:
    """Whether this process is one of several started by ``torchrun`` (``$WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: str = "cpu", timeout: datetime.timedelta | None = None) -> str:
    """Join the process group once when :func:`launched`, and return the device this rank computes on.

    The backend is NCCL for a CUDA ``device`` and gloo otherwise. A plain ``"cuda"`` becomes
    ``"cuda:<LOCAL_RANK>"`` (one GPU per rank, made the current one); any other device, and every device without
    torchrun, is returned unchanged. ``timeout`` is how long a collective (a barrier) may wait, torch's default
    when ``None``. Calling it again is harmless (the group of the first call stays).
    """
    if not launched():
        return device
    cuda = str(device).split(":")[0] == "cuda"
    if cuda and str(device) == "cuda":
        device = f"cuda:{local_rank()}"
    if cuda:
        torch.cuda.set_device(torch.device(device))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", **({} if timeout is None else {"timeout": timeout}))
    return device


def stop() -> None:
    """Leave the process group (at the end of a launcher; nothing without one)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """The number of ranks training together (1 without a process group)."""
    return dist.get_world_size() if _active() else 1


def rank() -> int:
    """This process's rank, 0 to ``world_size() - 1`` (0 without a process group)."""
    return dist.get_rank() if _active() else 0


def local_rank() -> int:
    """This process's rank on its machine (``$LOCAL_RANK``, set by torchrun; 0 otherwise): its GPU's index."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """Whether this is rank 0, the one that writes files and shows progress (always true in one process)."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank has reached this point (nothing in one process)."""
    if _active():
        dist.barrier()


@contextlib.contextmanager
def main_first():
    """Run the ``with`` block on rank 0 first and then on the other ranks, for work on shared files.

    Rank 0 sets aside unreadable files, removes stale temporaries, writes caches; the others then find the folder as
    rank 0 left it and only read. Rank 0 reaches the barrier even when its block raises, so the other ranks then
    run the block too and (for a bad config, a conflicting run folder) raise the same error instead of waiting.
    """
    if not is_main():
        barrier()
    try:
        yield
    finally:
        if is_main():
            barrier()


def shard_size(batch_size: int) -> int:
    """The images of a global batch of ``batch_size`` that each rank computes.

    Raises
    ------
    ValueError
        When ``batch_size`` is not a multiple of the number of ranks (every rank gets an equal shard, so that the
        mean of the ranks' means is the mean over the global batch).
    """
    n = world_size()
    if batch_size % n:
        raise ValueError(
            f"the global batch size {batch_size} is not divisible by the {n} ranks of this run: choose a batch size "
            f"that is a multiple of {n}, or another number of processes (torchrun --nproc_per_node)"
        )
    return batch_size // n


def shard(batch):
    """This rank's contiguous slice of a global ``batch`` (a tensor or array, batch first); the batch itself in
    one process. Rank ``r`` of ``n`` gets rows ``r * k`` to ``(r + 1) * k``, ``k = len(batch) / n``.
    """
    k = shard_size(len(batch))
    if world_size() == 1:
        return batch
    r = rank()
    return batch[r * k : (r + 1) * k]


def _reduce_device() -> torch.device:
    """Where a collective's tensor lives: the current GPU under NCCL, the CPU under gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def mean_over_ranks(**terms: float) -> dict[str, float]:
    """``terms`` (floats of this rank's shard) averaged over the ranks: the values of the global batch.

    With equal shards the mean of the ranks' batch means is the global batch mean. In one process the terms are
    returned as they are.
    """
    if not _active():
        return terms
    values = torch.tensor(list(terms.values()), dtype=torch.float64, device=_reduce_device())
    dist.all_reduce(values)
    return dict(zip(terms, (values / world_size()).tolist()))


class _AllReduceSum(torch.autograd.Function):
    """The sum over the ranks, differentiable: the gradient of a sum is the sum of the ranks' gradients.

    (``torch.distributed.nn.functional.all_reduce`` does the same but is deprecated in this torch.)
    """

    @staticmethod
    def forward(ctx, tensor):
        tensor = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(tensor)
        return tensor

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm2d(FP32BatchNorm2d):
    """Batch norm whose training-mode statistics are those of the global batch, over all ranks.

    ``nn.SyncBatchNorm`` does this on GPUs only (it refuses CPU tensors); this layer does it on any backend with
    two differentiable all-reductions per call: the per-channel sum and count, giving the global mean, then the sum
    of squared deviations from it, giving the global (biased) variance, as ``nn.BatchNorm2d`` computes them on the
    concatenated batch. The running statistics are updated as ``nn.BatchNorm2d`` updates them (the unbiased
    variance, ``momentum`` or a cumulative average), so they stay equal on every rank without a broadcast. Like
    :class:`~otlatent.precision.FP32BatchNorm2d` it normalises in float32 under autocast. In eval mode, and without
    a process group, it is that layer.
    """

    def forward(self, x):
        if not (self.training and _active()):
            return super().forward(x)
        with torch.autocast(x.device.type, enabled=False):
            return self._normalise(x.float())

    def _normalise(self, x):
        self._check_input_dim(x)
        dims = (0, 2, 3)
        local = torch.cat([x.sum(dims), x.new_full((1,), x.numel() // x.shape[1])])
        total = _AllReduceSum.apply(local)
        n = total[-1].detach()
        mean = total[:-1] / n
        centred = x - mean[None, :, None, None]
        var = _AllReduceSum.apply(centred.pow(2).sum(dims)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * (n / (n - 1)), alpha=m)
        scale = torch.rsqrt(var + self.eps)
        if self.affine:
            scale = scale * self.weight
        out = centred * scale[None, :, None, None]
        return out + self.bias[None, :, None, None] if self.affine else out


def _swap_batchnorm(module: nn.Module, to_global: bool) -> nn.Module:
    """Replace batch-norm layers in place by the other kind, keeping their parameters and buffers (the very same
    tensors: an optimiser built on the module still steps them) and their training mode.
    """
    for name, child in module.named_children():
        if to_global and type(child) in (nn.BatchNorm2d, FP32BatchNorm2d):
            new = GlobalBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine, False)
            new._local_class = type(child)
        elif not to_global and isinstance(child, GlobalBatchNorm2d):
            new = getattr(child, "_local_class", FP32BatchNorm2d)(
                child.num_features, child.eps, child.momentum, child.affine, False
            )
        else:
            _swap_batchnorm(child, to_global)
            continue
        for key in ("weight", "bias"):
            setattr(new, key, getattr(child, key))
        new.track_running_stats = child.track_running_stats
        for key in ("running_mean", "running_var", "num_batches_tracked"):
            new.register_buffer(key, getattr(child, key))
        new.train(child.training)
        setattr(module, name, new)
    return module


def global_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every ``nn.BatchNorm2d`` (and :class:`~otlatent.precision.FP32BatchNorm2d`) replaced in
    place by a :class:`GlobalBatchNorm2d` holding the same tensors; the state dict keeps its keys.
    """
    return _swap_batchnorm(module, True)


def local_batchnorm(module: nn.Module) -> nn.Module:
    """The inverse of :func:`global_batchnorm`, in place: each rank's batch norm normalises with its own batch again
    (before :func:`otlatent.dcgan.calibrate_batchnorm`, which every rank runs alike). No change to a module that
    holds no :class:`GlobalBatchNorm2d`.
    """
    return _swap_batchnorm(module, False)


def wrap(module: nn.Module, device: str = "cpu") -> nn.Module:
    """The module a training step runs: ``module`` itself in one process; under torchrun ``module`` with global
    batch norm (:func:`global_batchnorm`) in a ``DistributedDataParallel`` that averages the gradients over the
    ranks.

    Checkpoints keep ``module``'s own state dict (the wrapper's adds a ``module.`` prefix). The buffers are not
    broadcast from rank 0 at each forward pass (``forward_sync_buffers=False``, ``broadcast_buffers=False`` before
    torch 2.14): the batch-norm running statistics are updated from global statistics on every rank alike.
    """
    if not _active():
        return module
    global_batchnorm(module)
    cuda = str(device).split(":")[0] == "cuda"
    ids = [torch.device(device).index or 0] if cuda else None
    ddp = nn.parallel.DistributedDataParallel
    renamed = "forward_sync_buffers" in inspect.signature(ddp).parameters  # torch >= 2.14
    return ddp(module, device_ids=ids, **{"forward_sync_buffers" if renamed else "broadcast_buffers": False})
