"""Dataset loaders, each on a tiny fixture written in the dataset's real file format."""

import gzip
import io
import struct
import tarfile
import warnings

import numpy as np
import pytest
from PIL import Image

from otlatent import data


def _jpeg(color, size=(60, 40), fmt="JPEG"):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def _idx(array, path, compress=True):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def test_synthetic_is_deterministic_labelled_and_varied():
    a = data.make_synthetic(200, 32, seed=1)
    b = data.make_synthetic(200, 32, seed=1)
    c = data.make_synthetic(200, 32, seed=2)
    assert a.images_u8.shape == (200, 3, 32, 32) and a.images_u8.dtype == np.uint8
    assert np.array_equal(a.images_u8, b.images_u8) and not np.array_equal(a.images_u8, c.images_u8)
    assert set(a.labels) == set(range(10)) and a.num_classes == 10
    x = a.images
    assert x.dtype.__str__() == "torch.float32" and -1 <= x.min() and x.max() <= 1
    # colour and texture: per-image std and per-channel means vary across images
    assert a.images_u8.reshape(200, 3, -1).std(-1).mean() > 20
    assert a.images_u8.mean(axis=(2, 3)).std(0).min() > 15


def test_synthetic_classes_differ_in_shape():
    s = data.make_synthetic(2000, 32, seed=0)
    # mean image per class (foreground is where the image differs from its corners) must differ between classes
    means = np.stack([s.images_u8[s.labels == k].astype(float).std(1).mean(0) for k in range(10)])
    dist = np.abs(means[:, None] - means[None]).mean(axis=(2, 3))
    assert dist[~np.eye(10, dtype=bool)].min() > 0.5


def test_synthetic_renders_consistently_across_resolutions():
    small, large = data.make_synthetic(50, 32, seed=3), data.make_synthetic(50, 64, seed=3)
    down = large.images_u8.reshape(50, 3, 32, 2, 32, 2).astype(float).mean(axis=(3, 5))
    assert np.abs(down - small.images_u8).mean() < 12


def test_missing_dataset_names_path_and_how_to_get_it(tmp_path):
    for name, hint in [
        ("lfw", "lfw-deepfunneled"),
        ("celeba", "img_align_celeba"),
        ("lsun", "fyu/lsun"),
        ("lld", "LLD-icon.hdf5"),
        ("mnist", "mnist"),
        ("cifar10", "cifar-10-python.tar.gz"),
    ]:
        with pytest.raises(data.DatasetNotFoundError, match=hint) as info:
            data.load(name, root=tmp_path)
        assert str(tmp_path) in str(info.value)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError, match="valid datasets"):
        data.load("imagenet")


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_idx(tmp_path, compress):
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = np.arange(5 * 28 * 28).reshape(5, 28, 28) % 256
    suffix = ".gz" if compress else ""
    _idx(images, folder / f"t10k-images-idx3-ubyte{suffix}", compress)
    _idx(np.array([3, 1, 4, 1, 5]), folder / f"t10k-labels-idx1-ubyte{suffix}", compress)
    s = data.load("mnist", resolution=32, root=tmp_path)
    assert s.images_u8.shape == (5, 1, 32, 32) and list(s.labels) == [3, 1, 4, 1, 5]
    assert np.array_equal(s.images_u8[:, 0, 2:30, 2:30], images.astype(np.uint8))
    assert (tmp_path / "cache").is_dir(), "decoded once, cached"
    again = data.load("mnist", resolution=32, root=tmp_path)
    assert np.array_equal(again.images_u8, s.images_u8)
    assert data.load("mnist", resolution=16, root=tmp_path, cache=False).images_u8.shape == (5, 1, 16, 16)


def test_mnist_rejects_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x0d\x03rest"))
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(bad)
    _idx(np.zeros((4, 28, 28)), bad)
    raw = gzip.decompress(bad.read_bytes())[:-10]
    bad.write_bytes(gzip.compress(raw))
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(bad)


def _lfw_folder(root, corrupt=0):
    for i, name in enumerate(["Ann_Bee", "Cid_Dee"]):
        person = root / "lfw-deepfunneled" / name
        person.mkdir(parents=True)
        for j in range(2):
            (person / f"{name}_{j + 1:04d}.jpg").write_bytes(_jpeg((40 * i + 20 * j, 100, 200), (250, 250)))
    for k in range(corrupt):
        (root / "lfw-deepfunneled" / "Ann_Bee" / f"Ann_Bee_{9 + k:04d}.jpg").write_bytes(b"not a jpeg")
    (root / "lfw-deepfunneled" / ".complete").touch()  # a finished unpack, as `make data` marks it


def test_lfw_folder_crops_resizes_and_skips_corrupt(tmp_path):
    _lfw_folder(tmp_path, corrupt=1)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        s = data.load("lfw", resolution=45, root=tmp_path)
    assert s.images_u8.shape == (4, 3, 45, 45) and s.labels is None
    assert abs(int(s.images_u8[0, 2].mean()) - 200) <= 2


def _lfw_folder_and_tgz(tmp_path):
    """The same tiny LFW as a folder (under ``a``) and as ``lfw-deepfunneled.tgz`` (under ``b``)."""
    folder_root, tgz_root = tmp_path / "a", tmp_path / "b"
    _lfw_folder(folder_root)
    tgz_root.mkdir()
    with tarfile.open(tgz_root / "lfw-deepfunneled.tgz", "w:gz") as tar:
        tar.add(folder_root / "lfw-deepfunneled", arcname="lfw-deepfunneled")
    return folder_root, tgz_root


def test_lfw_from_tgz_matches_folder(tmp_path):
    folder_root, tgz_root = _lfw_folder_and_tgz(tmp_path)
    a = data.load("lfw", resolution=32, root=folder_root, cache=False)
    b = data.load("lfw", resolution=32, root=tgz_root, cache=False)
    assert np.array_equal(a.images_u8, b.images_u8)


def test_dataset_with_no_readable_image_is_an_error(tmp_path):
    person = tmp_path / "lfw-deepfunneled" / "X_Y"
    person.mkdir(parents=True)
    (person / "X_Y_0001.jpg").write_bytes(b"garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="no readable image"):
            data.load("lfw", root=tmp_path, cache=False)


def test_celeba_folder_and_partition(tmp_path):
    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    for i in range(4):
        (folder / f"{i + 1:06d}.jpg").write_bytes(_jpeg((60 * i, 50, 50), (178, 218)))
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text(
        "000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n000004.jpg 2\n"
    )
    assert len(data.load("celeba", resolution=64, root=tmp_path, cache=False)) == 4
    train = data.load("celeba", resolution=64, root=tmp_path, split="train", cache=False)
    assert train.images_u8.shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="split"):
        data.load("celeba", root=tmp_path, split="val")


def test_lsun_lmdb_webp_and_jpeg(tmp_path):
    import lmdb

    path = tmp_path / "lsun" / "bedroom_train_lmdb"
    path.mkdir(parents=True)
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        txn.put(b"a0", _jpeg((255, 0, 0), (96, 64), "WEBP"))
        txn.put(b"a1", _jpeg((0, 255, 0), (64, 96), "JPEG"))
        txn.put(b"a2", b"broken")
    env.close()
    with pytest.warns(UserWarning, match="skipped 1"):
        s = data.load("lsun", resolution=32, root=tmp_path, cache=False)
    assert s.images_u8.shape == (2, 3, 32, 32)
    assert s.images_u8[0, 0].mean() > 240 and s.images_u8[1, 1].mean() > 240


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_lld_hdf5(tmp_path, layout):
    import h5py

    rng = np.random.default_rng(0)
    icons = rng.integers(0, 256, size=(6, 3, 32, 32), dtype=np.uint8)
    (tmp_path / "lld").mkdir()
    with h5py.File(tmp_path / "lld" / "LLD-icon.hdf5", "w") as f:
        f["data"] = icons if layout == "nchw" else icons.transpose(0, 2, 3, 1)
        f["labels/resnet/rc_32"] = np.arange(6)
    s = data.load("lld", resolution=32, root=tmp_path, n=4, cache=False)
    assert np.array_equal(s.images_u8, icons[:4])


def test_lld_without_data_key_is_an_error(tmp_path):
    import h5py

    (tmp_path / "lld").mkdir()
    with h5py.File(tmp_path / "lld" / "LLD-icon.hdf5", "w") as f:
        f["images"] = np.zeros((1, 3, 32, 32), np.uint8)
    with pytest.raises(ValueError, match="'data'"):
        data.load("lld", root=tmp_path, cache=False)


def test_loader_is_seeded(tmp_path):
    s = data.make_synthetic(64, 32, seed=0)
    first = [next(iter(s.loader(16, seed=5)))[1].tolist() for _ in range(2)]
    assert first[0] == first[1]


def test_uint8_conversions_round_trip_and_are_idempotent():
    import torch

    u8 = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    assert torch.equal(data.to_uint8(data.to_float(u8)), u8), "uint8 -> [-1, 1] -> uint8 is exact"
    assert torch.equal(data.to_uint8(u8), u8), "a second conversion changes nothing"
    torch.testing.assert_close(data.to_unit(u8), data.to_unit(data.to_float(u8)))
    assert data.to_uint8(torch.tensor([-3.0, 3.0])).tolist() == [0, 255]


def test_lfw_identities_follow_the_loading_order(tmp_path):
    folder_root, tgz_root = _lfw_folder_and_tgz(tmp_path)
    expected = ["Ann_Bee", "Ann_Bee", "Cid_Dee", "Cid_Dee"]
    assert data.lfw_identities(folder_root).tolist() == expected
    assert data.lfw_identities(tgz_root).tolist() == expected
    assert len(data.load("lfw", 32, root=folder_root, cache=False)) == len(expected)
    assert data.lfw_identities(tmp_path / "none") is None


def _cifar_batch(path, images, labels):
    """A batch file in CIFAR-10's python format: a pickled dict (protocol 2, as the original) with bytes keys,
    ``b"data"`` (N x 3072 uint8, red then green then blue planes, row-major) and ``b"labels"``."""
    import pickle

    batch = {
        b"batch_label": b"fixture",
        b"labels": [int(v) for v in labels],
        b"data": images.reshape(len(images), 3072),
        b"filenames": [b"x.png"] * len(images),
    }
    path.write_bytes(pickle.dumps(batch, protocol=2))


def test_cifar10_python_batches(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train = [rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8) for _ in range(5)]
    for k, imgs in enumerate(train, 1):
        _cifar_batch(folder / f"data_batch_{k}", imgs, [k] * 4)
    test = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
    _cifar_batch(folder / "test_batch", test, [0, 1, 2])
    s = data.load("cifar10", resolution=32, root=tmp_path, cache=False)
    assert np.array_equal(s.images_u8, np.concatenate(train)) and s.labels.tolist() == [
        k for k in range(1, 6) for _ in range(4)
    ]
    # the layout: value c * 1024 + y * 32 + x of a row is channel c at (y, x)
    row = train[0][0].reshape(3072)
    assert s.images_u8[0, 1, 2, 5] == row[1 * 1024 + 2 * 32 + 5]
    t = data.load("cifar10", resolution=32, root=tmp_path, split="test", cache=False)
    assert np.array_equal(t.images_u8, test) and t.labels.tolist() == [0, 1, 2]
    small = data.load("cifar10", resolution=16, root=tmp_path, n=2, cache=False)
    assert small.images_u8.shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="no validation split"):
        data.load("cifar10", resolution=32, root=tmp_path, split="valid", cache=False)


def test_cifar10_bad_batch_names_the_file(tmp_path):
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    (folder / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="data_batch_1"):
        data.load("cifar10", resolution=32, root=tmp_path, cache=False)
