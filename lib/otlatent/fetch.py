"""Getting the datasets onto disk: downloads where a live public source exists, local archives otherwise.

``make data`` runs ``python -m otlatent.fetch``; ``make data ARCHIVES=dir`` runs
``python -m otlatent.fetch --archives dir``, which unpacks or copies the archives
found in ``dir`` (this is how CI uses ``../shared/data``).  Every file with a
published checksum is verified.  Files are placed under the data root
(:func:`otlatent.config.data_root`) in the layout the loaders expect.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

from .config import data_root
from .runtime import atomic_write

__all__ = ["Source", "SOURCES", "file_digest", "unpack_archives", "download", "main"]


@dataclasses.dataclass(frozen=True)
class Source:
    """One file of a dataset.

    ``dest`` is relative to the data root; ``extract`` means a tar archive whose
    contents go into the data root (``dest`` is then the folder it creates).
    ``digests`` maps ``"md5"``/``"sha256"`` to the accepted hex digests (several
    when repacked copies circulate); an empty mapping means none is published.
    """

    dataset: str
    filename: str
    dest: str
    url: str | None = None
    digests: dict = dataclasses.field(default_factory=dict)
    extract: bool = False
    how_to_get: str = ""


_MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

# sha256 of the gzip files as repacked in this project's development data (same contents, other gzip headers).
_MNIST_SHA256_REPACKED = {
    "t10k-images-idx3-ubyte.gz": "167310007f03058885c7e95e6c0b19c20de5c7fd3031f4cbdadc9014a523d80b",
    "t10k-labels-idx1-ubyte.gz": "fc607395669ec21321ea83e4b82c0544b7e8e63ff5b34337c06bc0a17cc0da3c",
}

SOURCES: tuple[Source, ...] = tuple(
    Source(
        "mnist",
        name,
        f"mnist/{name}",
        url=_MNIST_MIRROR + name,
        digests={"md5": [md5], "sha256": [_MNIST_SHA256_REPACKED.get(name, "")]},
        how_to_get="torchvision's MNIST mirror (downloaded by `make data`)",
    )
    for name, md5 in _MNIST_MD5.items()
) + (
    Source(
        "lfw",
        "lfw-deepfunneled.tgz",
        "lfw-deepfunneled",
        extract=True,
        digests={
            "md5": ["68331da3eb755a505a502b5aacb3c201"],  # the official archive
            "sha256": ["5f5d530085c6776351134b91336c66d54e26ae3111aeaaf601b3ba2473955868"],
        },  # repacked copy
        how_to_get=(
            "the official host vis-www.cs.umass.edu/lfw is offline; get `lfw-deepfunneled.tgz` "
            "from a mirror (e.g. the Kaggle dataset jessicali9530/lfw-dataset) and run "
            "`make data ARCHIVES=<folder holding it>`"
        ),
    ),
    Source(
        "celeba",
        "img_align_celeba.zip",
        "celeba/img_align_celeba",
        how_to_get=(
            "download `img_align_celeba.zip` and `list_eval_partition.txt` from "
            "mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Google Drive) and unzip them into "
            "<data root>/celeba/"
        ),
    ),
    Source(
        "lsun",
        "bedroom_train_lmdb.zip",
        "lsun/bedroom_train_lmdb",
        how_to_get=(
            "run `python download.py -c bedroom` from github.com/fyu/lsun and unzip "
            "`bedroom_train_lmdb.zip` into <data root>/lsun/"
        ),
    ),
    Source(
        "lld",
        "LLD-icon.hdf5",
        "lld/LLD-icon.hdf5",
        how_to_get=("download `LLD-icon.hdf5` from data.vision.ee.ethz.ch/sagea/lld/ into <data root>/lld/"),
    ),
    Source(
        "cifar10",
        "cifar-10-python.tar.gz",
        "cifar10/cifar-10-batches-py",
        how_to_get=(
            "download `cifar-10-python.tar.gz` (the python version, md5 c58f30108f718f92721af3b95e74349a) from "
            "www.cs.toronto.edu/~kriz/cifar.html and unpack it into <data root>/cifar10/ "
            "(`tar xzf cifar-10-python.tar.gz -C <data root>/cifar10/` makes cifar-10-batches-py/)"
        ),
    ),
)


def file_digest(path: str | Path, algorithm: str) -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(path: Path, source: Source) -> None:
    if not source.digests:
        return
    for algorithm, accepted in source.digests.items():
        if file_digest(path, algorithm) in accepted:
            return
    raise ValueError(
        f"{path}: checksum does not match any published digest of {source.filename} "
        f"({source.digests}); the file is corrupt or a different version"
    )


def _place(path: Path, source: Source, root: Path) -> str:
    target = root / source.dest
    _verify(path, source)
    if source.extract:
        marker = target / ".complete"
        if marker.exists():
            return f"{source.dataset}: {target} already unpacked"
        from .data.locations import unpacking_marker

        unpacking = unpacking_marker(target)  # present until the unpack is complete: loaders refuse the folder
        unpacking.parent.mkdir(parents=True, exist_ok=True)
        unpacking.write_text(f"unpacking {path}\n")
        with tarfile.open(path) as tar:
            tar.extractall(root, filter="data")
        marker.write_text(source.filename + "\n")
        unpacking.unlink()
        return f"{source.dataset}: unpacked {path.name} -> {target}"
    if target.exists() and target.stat().st_size == path.stat().st_size:
        return f"{source.dataset}: {target} already present"
    atomic_write(target, lambda tmp: shutil.copyfile(path, tmp))
    return f"{source.dataset}: copied {path.name} -> {target}"


def unpack_archives(archives: str | Path, root: str | Path | None = None) -> list[str]:
    """Copy or unpack every known dataset file found (recursively) under ``archives``; return a log."""
    archives, root = Path(archives), Path(root) if root else data_root()
    if not archives.is_dir():
        raise FileNotFoundError(f"archives folder {archives} does not exist")
    log = []
    for source in SOURCES:
        found = sorted(archives.rglob(source.filename))
        if found:
            log.append(_place(found[0], source, root))
    if not log:
        log.append(f"no known dataset file under {archives}")
    return log


def download(source: Source, root: str | Path | None = None) -> str:
    """Download one file with a live public source, verify it and place it under the data root."""
    root = Path(root) if root else data_root()
    if source.url is None:
        raise ValueError(f"{source.filename} has no public download; {source.how_to_get}")
    target = root / source.dest
    if target.exists():
        _verify(target, source)
        return f"{source.dataset}: {target} already present"
    tmp = root / ".downloads" / source.filename
    tmp.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(tmp, lambda t: urllib.request.urlretrieve(source.url, t))
    message = _place(tmp, source, root)
    tmp.unlink()
    return message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m otlatent.fetch", description=__doc__.splitlines()[0])
    parser.add_argument("--archives", help="a folder of local archives to unpack instead of downloading")
    parser.add_argument("--root", help="the data root (default: $OTLATENT_DATA or <project>/data)")
    args = parser.parse_args(argv)
    root = Path(args.root) if args.root else data_root()
    root.mkdir(parents=True, exist_ok=True)
    if args.archives:
        for line in unpack_archives(args.archives, root):
            print(line)
        return 0
    failures = 0
    for source in SOURCES:
        if source.url is None:
            print(f"{source.dataset}: no public download; {source.how_to_get}")
            continue
        try:
            print(download(source, root))
        except Exception as exc:  # keep going: one dead mirror must not hide the other instructions
            failures += 1
            print(f"{source.dataset}: download of {source.url} failed ({exc}); {source.how_to_get}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
