r"""A cache of computed results (scored sets, bootstrap tables, optimised latents), keyed by everything that
determines them, so that a rerun — or a classroom with a model pack (:mod:`otlatent.packs`) — reads them back
instead of computing them again.

A result is stored under ``<folder>/<name>_<key>[...]`` where ``name`` starts with the model's run name (so that a
pack can pick out one preset's files) and ``key`` is :func:`key` of an *identity*: a dict of every input. Tensors,
arrays, modules (their ``state_dict``) and files enter it through :func:`fingerprint`, the SHA-256 of their content,
so a retrained model or other input images give another key, never a stale result. Files are written atomically
(:func:`otlatent.runtime.atomic_write`); tables are CSV (floats read back to the last bit, as the tests check),
tensors ``.pt`` files read with ``weights_only=True`` (a pack from elsewhere cannot run code).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from .config import cache_root
from .runtime import atomic_write

__all__ = ["SCORES", "LATENTS", "folder", "fingerprint", "key", "cached_tables", "cached_tensors"]

#: The cache root's folders of results: tables (CSV) and tensors (``.pt``), the ones a model pack carries.
SCORES, LATENTS = "scores", "latents"


def folder(kind: str) -> Path:
    """The folder of one kind of result, :data:`SCORES` or :data:`LATENTS`, under the cache root
    (``$OTLATENT_CACHE``, :func:`otlatent.config.cache_root`).
    """
    if kind not in (SCORES, LATENTS):
        raise ValueError(f"no cached results of kind {kind!r}: choose {SCORES!r} or {LATENTS!r}")
    return cache_root() / kind


def _digest(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()[:16]


def fingerprint(obj) -> str:
    """SHA-256 (16 hex digits) of the content of ``obj``: a tensor or array (dtype, shape and values), an
    ``nn.Module`` (every entry of its ``state_dict``), a bound method of a module (the module and the method's name)
    or a file (its bytes, given as a :class:`~pathlib.Path`).

    Raises
    ------
    TypeError
        For anything else (a plain function cannot be fingerprinted: its result could change unseen).
    """
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes()  # flat: a 0-d tensor (a BN counter) has bytes too
        return _digest(str(t.dtype).encode(), str(tuple(t.shape)).encode(), raw)
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        if a.dtype == object:
            raise TypeError("cannot fingerprint an array of Python objects")
        return _digest(a.dtype.str.encode(), str(a.shape).encode(), a.tobytes())
    if isinstance(obj, nn.Module):
        return _digest(*(f"{k}={fingerprint(v)};".encode() for k, v in obj.state_dict().items()))
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, nn.Module):
        return _digest(fingerprint(owner).encode(), obj.__name__.encode())
    if isinstance(obj, Path):
        return _digest(obj.read_bytes())
    raise TypeError(
        f"cannot fingerprint {type(obj).__name__} {obj!r}: pass a tensor, an array, a module or its method, or a Path"
    )


def _canonical(value):
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return _canonical(value.item())
    return {"fingerprint": fingerprint(value)}


def key(ident: dict) -> str:
    """12 hex digits of SHA-1 of the identity ``ident`` as sorted JSON, tensors, arrays, modules and paths replaced by
    their :func:`fingerprint`. For plain JSON values it is the key :func:`otlatent.families.model_values` has always
    used.
    """
    if not isinstance(ident, dict):
        raise TypeError(f"the identity must be a dict of the inputs, got {type(ident).__name__}")
    return hashlib.sha1(json.dumps(_canonical(ident), sort_keys=True).encode()).hexdigest()[:12]


def _stem(folder, name: str, ident: dict) -> Path:
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"a cache name must be a non-empty file-name prefix (the model's run name), got {name!r}")
    return Path(folder) / f"{name}_{key(ident)}"


def cached_tables(
    folder, name: str, ident: dict, compute: Callable[[], pd.DataFrame | tuple], parts: tuple[str, ...] | None = None
):
    """``compute()`` — one DataFrame, or a tuple of them named ``parts`` — cached as CSV under ``folder``
    (``<name>_<key>.csv``, or ``<name>_<key>_<part>.csv`` per part). With ``folder=None`` nothing is cached.

    The index is not stored: ``compute`` should return tables with their data in columns.
    """
    if folder is None:
        return compute()
    stem = _stem(folder, name, ident)
    paths = [stem.with_name(f"{stem.name}.csv")] if parts is None else [stem.with_name(f"{stem.name}_{p}.csv")
                                                                        for p in parts]  # fmt: skip
    if all(p.exists() for p in paths):
        tables = [pd.read_csv(p) for p in paths]
        return tables[0] if parts is None else tuple(tables)
    result = compute()
    tables = [result] if parts is None else list(result)
    if len(tables) != len(paths) or not all(isinstance(t, pd.DataFrame) for t in tables):
        raise TypeError(f"compute() must return {'a DataFrame' if parts is None else f'{len(parts)} DataFrames'}")
    for path, table in zip(paths, tables):
        atomic_write(path, lambda tmp, table=table: table.to_csv(tmp, index=False))
    return result


def cached_tensors(folder, name: str, ident: dict, compute: Callable[[], dict]) -> dict:
    """``compute()`` — a dict of tensors — cached under ``folder`` as ``<name>_<key>.pt`` (read back with
    ``weights_only=True``, on the CPU). With ``folder=None`` nothing is cached.
    """
    if folder is None:
        return compute()
    stem = _stem(folder, name, ident)
    path = stem.with_name(f"{stem.name}.pt")
    if path.exists():
        return torch.load(path, map_location="cpu", weights_only=True)
    result = compute()
    if not isinstance(result, dict) or not all(isinstance(v, torch.Tensor) for v in result.values()):
        raise TypeError("compute() must return a dict of tensors")
    atomic_write(path, lambda tmp: torch.save({k: v.detach().cpu() for k, v in result.items()}, tmp))
    return result
