"""Mixed precision where it pays: which floating-point format a training run computes in, chosen per machine.

==========  =========================================================================================
``fp32``    float32 throughout (every CPU without native bfloat16 arithmetic, Apple's MPS).
``bf16``    ``torch.autocast`` to bfloat16 for convolutions and matrix products: CPUs with AVX512-BF16 or
            AMX-BF16 (Intel Cooper Lake, Sapphire Rapids and later; AMD Zen 4 and later), CUDA GPUs that
            support it (Ampere and later). No loss scaling: bfloat16 has float32's exponent range.
``fp16``    ``torch.autocast`` to float16 with a ``GradScaler`` (dynamic loss scaling): CUDA GPUs without
            bfloat16.
==========  =========================================================================================

As PyTorch's automatic-mixed-precision recipe prescribes, the weights and the optimiser state stay float32
(the "master weights"), only the forward pass runs under autocast and the backward pass follows it. Batch
norm and the losses run in float32 (:class:`FP32BatchNorm2d`, and the losses are computed on float32 logits),
so the statistics a generator keeps for eval mode and every recorded loss are float32.

The choice is automatic (:func:`pick_precision`); ``OTLATENT_PRECISION=fp32|bf16|fp16`` or a run's own
``precision`` overrides it. It is part of a run's config: a bf16 model is another model than an fp32 one
(its run name ends in ``_bf16``), and a run resumes only in the precision it started in, so that a resumed
run is bit-identical to an uninterrupted one on the same machine.
"""

from __future__ import annotations

import contextlib
import functools
import os

import torch
from torch import nn

__all__ = [
    "PRECISIONS",
    "cpu_has_bf16",
    "pick_precision",
    "check_precision",
    "describe_precision",
    "autocast",
    "grad_scaler",
    "FP32BatchNorm2d",
    "memory_format",
]

#: The formats a run can compute in.
PRECISIONS = ("fp32", "bf16", "fp16")


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (the ``avx512_bf16`` or ``amx_bf16`` flag of /proc/cpuinfo).

    Without it oneDNN emulates bfloat16 with float32 instructions plus conversions, slower than float32
    (measured on an AVX-512 Xeon without either flag: a DCGAN step at 32 px ran at 0.7x the float32 speed).
    Reads Linux's /proc/cpuinfo; elsewhere (macOS, Windows) it answers ``False``, and ``OTLATENT_PRECISION=bf16``
    still forces bfloat16.
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def check_precision(precision: str) -> str:
    """Validate a precision name; unknown names raise ``ValueError`` listing the valid ones."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: valid precisions are {', '.join(map(repr, PRECISIONS))}")
    return precision


def _kind(device) -> str:
    return str(device).split(":")[0]


def pick_precision(device: str = "cpu", preference: str | None = None) -> str:
    """The precision a training run on ``device`` computes in.

    ``preference`` (or ``$OTLATENT_PRECISION``; ``auto`` or empty for the automatic choice) overrides it.
    Automatic: CUDA -> ``bf16`` where the GPU supports it, else ``fp16``; CPU -> ``bf16`` where
    :func:`cpu_has_bf16`, else ``fp32``; MPS and anything else -> ``fp32``.

    Raises
    ------
    ValueError
        For an unknown name, or ``fp16`` off CUDA (float16 autocast on a CPU is emulated and slow, and loss
        scaling is a CUDA facility).
    """
    preference = preference or os.environ.get("OTLATENT_PRECISION") or None
    kind = _kind(device)
    if preference not in (None, "auto"):
        check_precision(preference)
        if preference == "fp16" and kind != "cuda":
            raise ValueError(f"precision 'fp16' needs a CUDA device (this run is on {device!r}); use 'bf16' or 'fp32'")
        return preference
    if kind == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if kind == "cpu" and cpu_has_bf16():
        return "bf16"
    return "fp32"


def describe_precision(device: str, precision: str) -> str:
    """One line for a notebook's first output: the precision and why it was chosen."""
    forced = os.environ.get("OTLATENT_PRECISION")
    if forced and forced != "auto":
        why = "set by OTLATENT_PRECISION"
    elif _kind(device) == "cpu":
        why = (
            "this CPU computes bfloat16 natively (AVX512-BF16/AMX)"
            if precision == "bf16"
            else "this CPU has no native bfloat16 (AVX512-BF16/AMX), where bf16 would be slower"
        )
    else:
        why = f"automatic on {_kind(device)}"
    return f"{precision} training ({why}; OTLATENT_PRECISION=fp32|bf16|fp16 overrides)"


def autocast(device: str, precision: str):
    """The forward-pass context of a run: ``torch.autocast`` to ``precision``'s type, or nothing for fp32."""
    check_precision(precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(_kind(device), dtype=dtype)


def grad_scaler(device: str, precision: str, parts: dict | None = None):
    """A ``torch.amp.GradScaler``: dynamic loss scaling for fp16, a pass-through (disabled) otherwise.

    Use it the same way in every precision: ``scaler.scale(loss).backward(); scaler.step(opt);
    scaler.update()``. An enabled scaler is added to ``parts`` (a run's checkpointed parts, as
    :class:`otlatent.runs.Training` takes them) as ``parts["scaler"]``, so that its state is checkpointed.
    """
    scaler = torch.amp.GradScaler(_kind(device), enabled=precision == "fp16")
    if parts is not None and scaler.is_enabled():
        parts["scaler"] = scaler
    return scaler


def memory_format(device: str):
    """The memory format a run's convolutional networks and images use: channels-last on CPU and CUDA (oneDNN's and
    cuDNN's fast layout; measured here: a float32 DCGAN step at 32 px, width 32, 1.2x faster than NCHW), the
    default elsewhere.
    """
    return torch.channels_last if _kind(device) in ("cpu", "cuda") else torch.contiguous_format


class FP32BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` that normalises in float32 under autocast (a float32 input passes unchanged); its output
    is float32, which the next autocast convolution casts back to the run's type.
    """

    def forward(self, x):
        if x.dtype == torch.float32:
            return super().forward(x)
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())
