"""Model packs: the trained models of one preset in one checksummed archive, for classrooms.

A teacher trains once (``make reproduce``), writes the pack (``make models-pack``), and hands it out; students install
it (``make models-unpack ARCHIVE=...``) and every notebook reloads the models instead of training them, since a
finished ``model.pt`` whose config equals the notebook's is always reloaded (:func:`otlatent.runs.finished_run`).

The archive (``.tar.gz``) holds the finished ``model.pt`` of every run folder of the preset under the models root
(``models/<run>/``, ``classifiers/<run>/``; training checkpoints are left out), the preset's scored sets from the
result cache (:mod:`otlatent.results_cache`: scored sets and bootstrap tables in ``cache/scores/``, MAP latents in
``cache/latents/``, all keyed by each model's weights, so that notebooks 07-10 read them back instead of computing
them again) and ``MANIFEST.json``: the package version, the preset, and per file its
path, size and SHA-256. Unpacking checks every file against the manifest, refuses paths outside those folders, and
never replaces an existing file by a different one.

Command line: ``python -m otlatent.packs pack --preset cpu [--out FILE]`` and
``python -m otlatent.packs unpack ARCHIVE``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path, PurePosixPath

from . import __version__, results_cache
from .config import build_root, cache_root, get_preset, models_root
from .runtime import atomic_write, load_checkpoint

__all__ = ["MANIFEST", "RUN_FOLDERS", "CACHE_FOLDERS", "PackError", "pack_files", "cache_files", "pack", "unpack",
           "main"]  # fmt: skip

#: The archive member that lists every file with its size and checksum.
MANIFEST = "MANIFEST.json"
#: The folders of the models root whose runs go into a pack (``RunConfig.folder`` of every trainer).
RUN_FOLDERS = ("models", "classifiers")
#: The folders of the cache root whose files of the preset go into a pack, as ``cache/<folder>/...`` in the archive,
#: with the one file type each holds.
CACHE_FOLDERS = {results_cache.SCORES: ".csv", results_cache.LATENTS: ".pt"}
#: The archive folder of the cached files (installed under the cache root, not the models root).
_CACHE = "cache"


class PackError(ValueError):
    """A model pack is damaged, unsafe, or would replace a different model."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack_files(preset: str, root: Path | None = None) -> list[Path]:
    """The finished models of ``preset`` under the models root ``root``: ``<folder>/<run>/model.pt`` whose stored
    config names the preset, sorted.
    """
    get_preset(preset)
    root = Path(root) if root else models_root()
    found = []
    for folder in RUN_FOLDERS:
        for path in sorted((root / folder).glob("*/model.pt")):
            if load_checkpoint(path)["config"].get("preset") == preset:
                found.append(path)
    return found


def cache_files(preset: str, cache: Path | None = None) -> list[Path]:
    """The cached results of ``preset``'s models under the cache root ``cache`` (``scores/<run name>_<key>...csv``,
    ``latents/<run name>_<key>.pt``, whose run name carries the preset), sorted.
    """
    get_preset(preset)
    cache = Path(cache) if cache else cache_root()
    return sorted(p for folder, ext in CACHE_FOLDERS.items() for p in (cache / folder).glob(f"*_{preset}_*{ext}"))


def _target(rel: str, root: Path, cache: Path) -> Path:
    """Where the archive member ``rel`` is installed: under the cache root for ``cache/...``, else the models root."""
    parts = PurePosixPath(rel).parts
    return cache.joinpath(*parts[1:]) if parts[0] == _CACHE else root / rel


def pack(preset: str, out: Path | None = None, root: Path | None = None, cache: Path | None = None) -> Path:
    """Write the model pack of ``preset`` (default ``build/otlatent-models-<preset>.tar.gz``) atomically; return it.

    Raises
    ------
    PackError
        When the models root holds no finished model of the preset (run ``make reproduce PRESET=...`` first).
    """
    root, cache = Path(root) if root else models_root(), Path(cache) if cache else cache_root()
    files = pack_files(preset, root)
    if not files:
        raise PackError(
            f"no finished model of preset {preset!r} under {root} ({', '.join(RUN_FOLDERS)}): "
            f"run `make reproduce PRESET={preset}` first"
        )
    out = Path(out) if out else build_root() / f"otlatent-models-{preset}.tar.gz"
    entries, blobs = [], {}
    members = [(path, path.relative_to(root).as_posix()) for path in files]
    members += [(path, f"{_CACHE}/{path.relative_to(cache).as_posix()}") for path in cache_files(preset, cache)]
    for path, rel in members:
        blobs[rel] = path.read_bytes()
        entries.append({"path": rel, "size": len(blobs[rel]), "sha256": _sha256(blobs[rel])})
    manifest = json.dumps({"otlatent": __version__, "preset": preset, "files": entries}, indent=1).encode()

    def write(tmp: Path) -> None:
        with tarfile.open(tmp, "w:gz") as tar:
            for name, data in [(MANIFEST, manifest), *blobs.items()]:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))

    return atomic_write(out, write)


def _read_pack(archive: Path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and the files of a pack, each file checked against the manifest."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = {m.name: m for m in tar.getmembers()}
            if MANIFEST not in members:
                raise PackError(f"{archive}: no {MANIFEST}: not a model pack written by `make models-pack`")
            manifest = json.loads(tar.extractfile(members[MANIFEST]).read())
            files = {}
            for entry in manifest["files"]:
                rel = PurePosixPath(entry["path"])
                cached = len(rel.parts) > 2 and rel.parts[0] == _CACHE and rel.parts[1] in CACHE_FOLDERS
                inside = len(rel.parts) > 1 and (
                    rel.parts[0] in RUN_FOLDERS or (cached and rel.suffix == CACHE_FOLDERS[rel.parts[1]])
                )
                if rel.is_absolute() or ".." in rel.parts or not inside:
                    folders = ", ".join([*RUN_FOLDERS, *(f"{_CACHE}/{f}/*{e}" for f, e in CACHE_FOLDERS.items())])
                    raise PackError(f"{archive}: refuses the path {entry['path']!r} (outside {folders})")
                member = members.get(entry["path"])
                if member is None or not member.isfile():
                    raise PackError(f"{archive}: {entry['path']} is listed in {MANIFEST} but missing")
                data = tar.extractfile(member).read()
                if len(data) != entry["size"] or _sha256(data) != entry["sha256"]:
                    raise PackError(
                        f"{archive}: {entry['path']} does not match its checksum: the archive is damaged; copy it again"
                    )
                files[entry["path"]] = data
    except (tarfile.TarError, EOFError, OSError, json.JSONDecodeError, KeyError) as exc:
        raise PackError(f"{archive}: not a readable model pack ({type(exc).__name__}: {exc}); copy it again") from exc
    return manifest, files


def unpack(archive: Path, root: Path | None = None, cache: Path | None = None) -> list[Path]:
    """Install the models of a pack under the models root ``root`` and its cached scores under the cache root
    ``cache``; return the files written (identical ones are skipped).

    Raises
    ------
    PackError
        For a damaged archive, a path outside the run folders, or a different ``model.pt`` already at a path of the
        pack (nothing is written then: delete that run folder, or unpack into another ``OTLATENT_MODELS``).
    """
    archive, root = Path(archive), Path(root) if root else models_root()
    cache = Path(cache) if cache else cache_root()
    manifest, files = _read_pack(archive)
    targets = {rel: _target(rel, root, cache) for rel in files}
    conflicts = [rel for rel, data in files.items() if targets[rel].exists() and targets[rel].read_bytes() != data]
    if conflicts:
        raise PackError(
            f"{archive}: {len(conflicts)} file(s) of the pack differ from the ones already installed, "
            f"e.g. {targets[conflicts[0]]}; nothing was written. Delete those run folders (or cached files) to use "
            "the pack's, or set OTLATENT_MODELS and OTLATENT_CACHE to other folders"
        )
    written = []
    for rel, data in files.items():
        target = targets[rel]
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, lambda tmp, data=data: tmp.write_bytes(data))
        written.append(target)
    n_cached = sum(PurePosixPath(rel).parts[0] == _CACHE for rel in files)
    print(
        f"{archive.name}: {len(files) - n_cached} model(s) and {n_cached} cached result(s) of preset "
        f"{manifest['preset']!r} (otlatent {manifest['otlatent']}); {len(written)} installed under {root} and "
        f"{cache}, {len(files) - len(written)} already there"
    )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m otlatent.packs", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="write the model pack of a preset")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--out", type=Path)
    u = sub.add_parser("unpack", help="install a model pack")
    u.add_argument("archive", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "pack":
            out = pack(args.preset, args.out)
            print(
                f"{out}: {len(pack_files(args.preset))} model(s) and {len(cache_files(args.preset))} cached "
                f"result(s) of preset {args.preset!r}"
            )
        else:
            unpack(args.archive)
    except PackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
