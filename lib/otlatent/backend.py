"""NumPy or torch in, the same kind out: the one place that dispatches on the array type.

In the spirit of POT's backend (``ot.backend``): the study's maps and priors accept a NumPy
array or a torch tensor and return the same kind, dtype and device. The functions below are
the only type checks the library needs; every other module calls them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_torch", "as_float", "via_numpy64", "torch_dtype", "device_of", "stack", "scale"]


def is_torch(x) -> bool:
    """Whether ``x`` is a torch tensor."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(x, torch.Tensor)


def as_float(x):
    """``x`` as a floating NumPy array or torch tensor (integers and lists become float64 / torch's default)."""
    if is_torch(x):
        import torch

        return x if torch.is_floating_point(x) else x.to(torch.get_default_dtype())
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def via_numpy64(fn, x):
    """Apply a float64 NumPy function to ``x``; return the result in ``x``'s kind, dtype and device."""
    x = as_float(x)
    if is_torch(x):
        import torch

        out = fn(x.detach().to("cpu", torch.float64).numpy())
        return torch.from_numpy(np.asarray(out, dtype=np.float64)).to(device=x.device, dtype=x.dtype)
    out = fn(x.astype(np.float64, copy=False))
    return np.asarray(out, dtype=np.float64).astype(x.dtype, copy=False)


def torch_dtype(x):
    """The torch dtype of ``x`` (a tensor's own, or the torch twin of an array's dtype)."""
    import torch

    return x.dtype if is_torch(x) else getattr(torch, np.dtype(x.dtype).name)


def device_of(x):
    """A tensor's device; ``"cpu"`` for NumPy arrays."""
    return x.device if is_torch(x) else "cpu"


def stack(arrays):
    """``torch.stack`` or ``numpy.stack``, after the kind of the first element."""
    if is_torch(arrays[0]):
        import torch

        return torch.stack(list(arrays))
    return np.stack(arrays)


def scale(x, factor: float):
    """``x * factor`` in ``x``'s dtype (a NumPy float32 array stays float32)."""
    x = as_float(x)
    if is_torch(x):
        return x * factor
    return x * x.dtype.type(factor)
