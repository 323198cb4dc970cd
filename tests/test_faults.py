"""The fault suite: bad inputs and injected faults (truncations, corrupt files, read-only roots, interrupted
unpacks). Each test names the item of the hostile-test issue it guards; each failed before its fix.
"""

import errno
import gzip
import io
import os
import struct
import tarfile
import warnings

import numpy as np
import pytest
from PIL import Image

from otlatent import data


@pytest.fixture(autouse=True)
def _isolated_roots(tmp_path, monkeypatch):
    """Never touch the real data root: every test gets its own."""
    monkeypatch.setenv("OTLATENT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("OTLATENT_FIGURES", str(tmp_path / "figures"))
    monkeypatch.delenv("OTLATENT_CACHE", raising=False)
    monkeypatch.delenv("OTLATENT_MODELS", raising=False)


def _jpeg(color, size=(60, 40)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


def _idx(array, path):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def _people(root, names, per_person=2, complete=True):
    folder = root / "lfw-deepfunneled"
    for i, name in enumerate(names):
        person = folder / name
        person.mkdir(parents=True, exist_ok=True)
        for j in range(per_person):
            (person / f"{name}_{j + 1:04d}.jpg").write_bytes(_jpeg((30 * i % 256, 20 * j, 100)))
    if complete:
        (folder / ".complete").write_text("lfw-deepfunneled.tgz\n")
    return folder


def _quiet_load(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.load(*args, **kwargs)


# ------------------------------------------------------------------ 1. stale dataset cache
def test_item1_cache_is_rebuilt_when_the_lfw_files_change(tmp_path):
    root = tmp_path / "data"
    _people(root, ["Ann_Bee"])
    first = data.load("lfw", 32, root=root)
    assert len(first) == 2 and first.identities.tolist() == ["Ann_Bee", "Ann_Bee"]
    _people(root, ["Cid_Dee", "Eve_Fox"])  # the unpack goes on: more people arrive
    second = data.load("lfw", 32, root=root)
    assert len(second) == 6, "a cache of the partial set must not be reused"
    assert second.identities.tolist() == ["Ann_Bee"] * 2 + ["Cid_Dee"] * 2 + ["Eve_Fox"] * 2


def test_item1_lfw_persons_are_cached_with_the_images(tmp_path):
    root = tmp_path / "data"
    _people(root, ["Ann_Bee", "Cid_Dee"])
    (root / "lfw-deepfunneled" / "Ann_Bee" / "Ann_Bee_0009.jpg").write_bytes(b"not a jpeg")  # skipped on decode
    with pytest.warns(UserWarning, match="skipped 1"):
        loaded = data.load("lfw", 32, root=root)
    assert loaded.identities.tolist() == ["Ann_Bee", "Ann_Bee", "Cid_Dee", "Cid_Dee"]
    again = data.load("lfw", 32, root=root)  # from the cache
    assert again.identities.tolist() == loaded.identities.tolist()
    assert np.array_equal(again.images_u8, loaded.images_u8)


def test_item1_vae_split_uses_the_persons_of_the_loaded_images(tmp_path, monkeypatch):
    import otlatent
    from otlatent import trained

    root = tmp_path / "data"
    _people(root, [f"P{k:02d}_X" for k in range(8)], per_person=20)
    monkeypatch.setenv("OTLATENT_DATA", str(root))
    study = otlatent.start("99_test", preset="smoke", dataset="lfw", quiet=True)
    trained.vae_images_for(study)  # caches the images
    _people(root, ["AAA_First"], per_person=3)  # sorts first: today's file list shifts by three images
    train, test = trained.vae_images_for(study)
    loaded = data.load("lfw", study.preset.vae_resolution, n=study.preset.vae_max_images)
    assert len(train) + len(test) <= len(loaded)
    assert train.identities.tolist() == loaded.identities[: len(train)].tolist()
    assert test.identities.tolist() == loaded.identities[len(loaded) - len(test) :].tolist()
    assert not set(train.identities) & set(test.identities), "held-out people must not be trained on"
    assert np.array_equal(test.images_u8, loaded.images_u8[len(loaded) - len(test) :])


def test_item1_mnist_train_split_added_after_test_split_was_cached(tmp_path):
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    _idx(np.zeros((3, 28, 28)), root / "mnist" / "t10k-images-idx3-ubyte.gz")
    assert len(data.load("mnist", 28, root=root)) == 3
    _idx(np.full((7, 28, 28), 9), root / "mnist" / "train-images-idx3-ubyte.gz")
    again = data.load("mnist", 28, root=root)
    assert len(again) == 7 and again.source.endswith("train-images-idx3-ubyte.gz")


def test_item1_interrupted_unpack_is_refused_and_unmarked_folder_warns(tmp_path):
    root = tmp_path / "data"
    folder = _people(root, ["Ann_Bee"], complete=False)
    (root / ".lfw-deepfunneled.unpacking").write_text("unpacking\n")
    with pytest.raises(data.IncompleteDatasetError, match="make data") as info:
        data.load("lfw", 32, root=root)
    assert str(folder) in str(info.value)
    (root / ".lfw-deepfunneled.unpacking").unlink()
    with pytest.warns(UserWarning, match=r"\.complete"):
        data.load("lfw", 32, root=root, cache=False)


def test_item1_make_data_marks_the_unpack_in_progress(tmp_path, monkeypatch):
    from otlatent import fetch

    root, archives = tmp_path / "data", tmp_path / "archives"
    src = _people(tmp_path / "src", ["Ann_Bee"], complete=False)
    archives.mkdir()
    with tarfile.open(archives / "lfw-deepfunneled.tgz", "w:gz") as tar:
        tar.add(src, arcname="lfw-deepfunneled")
    seen = {}
    real = tarfile.TarFile.extractall

    def spy(self, path, *a, **k):
        seen["during"] = (root / ".lfw-deepfunneled.unpacking").exists()
        return real(self, path, *a, **k)

    monkeypatch.setattr(tarfile.TarFile, "extractall", spy)
    monkeypatch.setattr(fetch, "_verify", lambda path, source: None)
    fetch.unpack_archives(archives, root)
    assert seen["during"] and not (root / ".lfw-deepfunneled.unpacking").exists()
    assert (root / "lfw-deepfunneled" / ".complete").exists()


# ------------------------------------------------------------------ 3. n, crop, resolution
@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"n": -5}, "n"),
        ({"n": 0}, "n"),
        ({"n": -1}, "n"),
        ({"n": 2.5}, "n"),
        ({"crop": 0}, "crop"),
        ({"crop": -7}, "crop"),
        ({"resolution": 0}, "resolution"),
        ({"resolution": -3}, "resolution"),
        ({"resolution": 33.5}, "resolution"),
    ],
)
@pytest.mark.parametrize("name", ["lfw", "mnist", "synthetic"])
def test_item3_load_validates_n_crop_resolution(tmp_path, kwargs, param, name):
    root = tmp_path / "data"
    _people(root, ["Ann_Bee"])
    (root / "mnist").mkdir()
    _idx(np.zeros((4, 28, 28)), root / "mnist" / "t10k-images-idx3-ubyte.gz")
    if name == "synthetic" and param == "crop":
        return
    with pytest.raises(ValueError, match=rf"^{param} must be a positive integer"):
        data.load(name, root=root, cache=False, **kwargs)


def test_item3_valid_values_still_load(tmp_path):
    root = tmp_path / "data"
    _people(root, ["Ann_Bee"])
    assert len(data.load("lfw", np.int64(16), n=np.int64(1), crop=None, root=root, cache=False)) == 1
    assert len(data.load("synthetic", 16, n=3)) == 3


# ------------------------------------------------------------------ 5. HDF5 icons that are not uint8
def _lld(root, array):
    h5py = pytest.importorskip("h5py")
    (root / "lld").mkdir(parents=True)
    with h5py.File(root / "lld" / "LLD-icon.hdf5", "w") as f:
        f["data"] = array


def test_item5_float_icons_in_unit_range_are_scaled(tmp_path):
    root = tmp_path / "data"
    icons = np.random.default_rng(0).random((4, 3, 32, 32)).astype(np.float32)
    _lld(root, icons)
    out = data.load("lld", 32, root=root, cache=False).images_u8
    np.testing.assert_array_equal(out, np.round(icons.astype(np.float64) * 255).astype(np.uint8))


@pytest.mark.parametrize("dtype, values", [(np.int16, (0, 999)), (np.float32, (-1.0, 1.0)), (np.float64, (0, 255))])
def test_item5_icons_out_of_range_are_refused(tmp_path, dtype, values):
    root = tmp_path / "data"
    icons = np.linspace(*values, 4 * 3 * 32 * 32).reshape(4, 3, 32, 32).astype(dtype)
    _lld(root, icons)
    with pytest.raises(ValueError, match=rf"LLD-icon.hdf5: icons of dtype {np.dtype(dtype).name}.*uint8"):
        data.load("lld", 32, root=root, cache=False)


def test_item5_integer_icons_in_byte_range_are_exact(tmp_path):
    root = tmp_path / "data"
    icons = (np.arange(4 * 3 * 32 * 32) % 256).reshape(4, 3, 32, 32).astype(np.int16)
    _lld(root, icons)
    np.testing.assert_array_equal(data.load("lld", 32, root=root, cache=False).images_u8, icons.astype(np.uint8))


# ------------------------------------------------------------------ 8. corrupt cache files
@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"garbage" * 10])
def test_item8_corrupt_cache_is_set_aside_and_rebuilt(tmp_path, content):
    root = tmp_path / "data"
    _people(root, ["Ann_Bee"])
    good = data.load("lfw", 32, root=root)
    (cache_file,) = (root / "cache").glob("*.npz")
    cache_file.write_bytes(content)
    with pytest.warns(UserWarning, match=rf"unreadable dataset cache {cache_file}.*rebuilding"):
        again = data.load("lfw", 32, root=root)
    assert np.array_equal(again.images_u8, good.images_u8)
    assert (cache_file.parent / (cache_file.name + ".corrupt")).exists()
    assert np.array_equal(data.load("lfw", 32, root=root).images_u8, good.images_u8)


# ------------------------------------------------------------------ 10. empty or bad LFW sources
@pytest.mark.parametrize("layout", ["empty", "no_person_folders", "upper_case"])
def test_item10_lfw_folder_without_images_is_not_available(tmp_path, layout):
    root = tmp_path / "data"
    folder = root / "lfw-deepfunneled"
    folder.mkdir(parents=True)
    if layout == "no_person_folders":
        (folder / "Ann_Bee_0001.jpg").write_bytes(_jpeg((1, 2, 3)))
    elif layout == "upper_case":
        (folder / "Ann_Bee").mkdir()
        (folder / "Ann_Bee" / "Ann_Bee_0001.JPG").write_bytes(_jpeg((1, 2, 3)))
    assert not data.available("lfw", root)
    with pytest.raises(data.DatasetNotFoundError, match=rf"{folder} exists but holds no <Name>/<Name>_NNNN.jpg"):
        data.load("lfw", root=root)


def test_item10_start_falls_back_on_an_empty_lfw_folder(tmp_path, monkeypatch):
    import otlatent

    (tmp_path / "data" / "lfw-deepfunneled").mkdir(parents=True)
    study = otlatent.start("99_test", preset="smoke", dataset="lfw", fallback="synthetic", quiet=True)
    assert study.dataset == "synthetic"


def test_item10_truncated_lfw_tgz_names_the_archive(tmp_path):
    root = tmp_path / "data"
    src = _people(tmp_path / "src", [f"P{k}_X" for k in range(4)], complete=False)
    root.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src, arcname="lfw-deepfunneled")
    archive = root / "lfw-deepfunneled.tgz"
    archive.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ValueError, match=rf"{archive}: truncated or corrupt archive.*lfw-deepfunneled.tgz"):
        data.load("lfw", 32, root=root, cache=False)
    with pytest.raises(ValueError, match=rf"{archive}: truncated"):
        data.lfw_identities(root)


def test_item10_truncated_mnist_gz_names_the_file(tmp_path):
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    path = root / "mnist" / "t10k-images-idx3-ubyte.gz"
    _idx(np.random.default_rng(0).integers(0, 255, (50, 28, 28)), path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ValueError, match=rf"{path}: truncated or corrupt gzip.*make data"):
        data.load("mnist", 28, root=root, cache=False)


# ------------------------------------------------------------------ 11. read-only data root
@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_item11_read_only_data_root_warns_naming_the_setting(tmp_path):
    root = tmp_path / "data"
    _people(root, ["Ann_Bee"])
    root.chmod(0o555)
    try:
        with pytest.warns(UserWarning, match="OTLATENT_CACHE"):
            assert len(data.load("lfw", 32)) == 2
    finally:
        root.chmod(0o755)


def test_item11_cache_location_is_a_setting(tmp_path, monkeypatch):
    root = tmp_path / "data"
    _people(root, ["Ann_Bee"])
    monkeypatch.setenv("OTLATENT_CACHE", str(tmp_path / "elsewhere"))
    data.load("lfw", 32)
    assert list((tmp_path / "elsewhere").glob("lfw_32px_*.npz")) and not (root / "cache").exists()


def test_item11_unwritable_cache_warns_and_still_loads(tmp_path, monkeypatch):
    root = tmp_path / "data"
    _people(root, ["Ann_Bee"])
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("OTLATENT_CACHE", str(blocker / "cache"))
    with pytest.warns(UserWarning, match=r"could not write the cache .*OTLATENT_CACHE"):
        assert len(data.load("lfw", 32)) == 2


# ------------------------------------------------------------------ 2. heavy-tailed priors
def _matched_ks(dist, coeffs, n=20_000):
    import scipy.stats

    from otlatent import matching
    from otlatent.priors import Iid

    prior = Iid(dist)
    z = prior.sample(n, len(coeffs), seed=3)
    law = matching.sum_law(prior, coeffs)
    out = law.transport(z @ np.asarray(coeffs))
    return law, scipy.stats.kstest(out, dist.cdf).pvalue


@pytest.mark.parametrize("coeffs", [(0.5, 0.5), (0.6, 0.8), (1.0, -1.0, 1.0)])
@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (2.0, 0.5)])
def test_item2_cauchy_prior_is_matched_exactly(coeffs, loc, scale):
    import scipy.stats

    from otlatent.mismatch import kl_exact

    dist = scipy.stats.cauchy(loc=loc, scale=scale)
    law, p = _matched_ks(dist, coeffs)
    assert p > 0.01
    # T(sum c_i loc) = loc (the median of Y onto the median of Z); for loc 0, T(0) = 0 exactly
    assert float(law.transport(np.array([loc * sum(coeffs)]))[0]) == pytest.approx(loc, abs=1e-12)
    # closed-form KL of the midpoint against the prior: 0 (Cauchy is stable, the midpoint is the prior again)
    if coeffs == (0.5, 0.5):
        assert kl_exact(law) == pytest.approx(0.0, abs=1e-12)


def test_item2_too_heavy_tails_are_refused_naming_the_limit():
    import scipy.stats

    from otlatent import matching
    from otlatent.priors import Iid

    with pytest.raises(ValueError, match=r"t\(1.5\): its tails are too heavy.*MAX_RELATIVE_STEP"):
        matching.sum_law(Iid(scipy.stats.t(1.5)), (0.5, 0.5))


@pytest.mark.parametrize(
    "dist", ["t(2.5)", "t(3)", "pareto(3)", "gamma(2)", "lognorm(0.25)", "laplace(scale=0.7)", "t(10)", "lognorm(1)"]
)
@pytest.mark.parametrize("coeffs", [(0.5, 0.5), (1.0, -1.0, 1.0)])
def test_item2_accepted_laws_are_matched(dist, coeffs):
    import scipy.stats

    name, args = dist.rstrip(")").split("(")
    if "=" in args:
        frozen = getattr(scipy.stats, name)(**{args.split("=")[0]: float(args.split("=")[1])})
    else:
        frozen = getattr(scipy.stats, name)(float(args))
    law, p = _matched_ks(frozen, coeffs)
    assert p > 0.01
    if dist.startswith(("laplace", "t(")):  # symmetric about 0: T(0) = 0
        assert abs(float(law.transport(np.array([0.0]))[0])) < 1e-6
    if dist == "pareto(3)" and min(coeffs) > 0:  # the sum's lower end maps onto the prior's lower end 1
        y0 = float(sum(c for c in coeffs if c > 0))
        assert float(law.transport(np.array([y0]))[0]) == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------ 4. kl_estimate and non-finite samples
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_item4_kl_estimate_refuses_non_finite_samples(bad):
    from otlatent.mismatch import kl_estimate

    x = np.random.default_rng(0).standard_normal(10_000)
    x[:500] = bad
    with pytest.raises(ValueError, match=r"500 of the 10000 samples are NaN or infinite.*np.isfinite"):
        kl_estimate(x, "gaussian")
    with pytest.raises(ValueError, match="NaN or infinite"):
        kl_estimate(np.full(100, bad), "gaussian")


def test_item4_kl_estimate_refuses_no_samples():
    from otlatent.mismatch import kl_estimate

    with pytest.raises(ValueError, match="at least one sample"):
        kl_estimate(np.array([]), "gaussian")


def test_item4_kl_estimate_of_finite_samples_unchanged():
    from otlatent.mismatch import kl_estimate

    x = np.random.default_rng(0).standard_normal(10_000)
    est, se = kl_estimate(x, "gaussian")
    assert abs(est) < 3 * se + 0.01


# ------------------------------------------------------------------ 6. a run folder shared by two configs
def _gan(**kw):
    from otlatent.dcgan import GANConfig

    base = dict(dataset="synthetic", prior="uniform", width=8, batch_size=16, iterations=2, seed=3, preset="smoke")
    return GANConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def gan_images():
    return data.make_synthetic(64, 32, seed=0)


def test_item6_finished_model_of_another_config_is_not_overwritten(gan_images, tmp_path):
    from otlatent.dcgan import train_dcgan
    from otlatent.runs import RunFolderConflict

    first = _gan()
    train_dcgan(gan_images, first, progress=False)
    model = first.run_dir() / "model.pt"
    before = model.read_bytes()
    other = _gan(width=16, iterations=3)
    assert other.name == first.name  # the readable name leaves these fields out
    with pytest.raises(RunFolderConflict, match=r"width: 8 \(stored\) vs 16 \(asked\)") as info:
        train_dcgan(gan_images, other, progress=False)
    message = str(info.value)
    assert "iterations: 2 (stored) vs 3 (asked)" in message and str(model) in message and "Delete" in message
    assert model.read_bytes() == before, "the finished model is intact"
    assert train_dcgan(gan_images, first, progress=False).discriminator is None, "still reloaded"


def test_item6_checkpoint_of_another_config_is_not_overwritten(gan_images):
    from otlatent.dcgan import train_dcgan
    from otlatent.runs import RunFolderConflict

    first = _gan(iterations=4)
    train_dcgan(gan_images, first, progress=False, stop_after=1)  # interrupted: a checkpoint, no model
    ckpt = first.run_dir() / "checkpoint.pt"
    before = ckpt.read_bytes()
    with pytest.raises(RunFolderConflict, match=r"checkpoint.*batch_size: 16 \(stored\) vs 32 \(asked\)"):
        train_dcgan(gan_images, _gan(iterations=4, batch_size=32), progress=False)
    assert ckpt.read_bytes() == before


def test_item6_explicit_folder_keeps_the_old_model_aside(gan_images, tmp_path):
    from otlatent.dcgan import train_dcgan

    train_dcgan(gan_images, _gan(), tmp_path, progress=False)
    before = (tmp_path / "model.pt").read_bytes()
    with pytest.warns(UserWarning, match="another configuration.*moved it to"):
        train_dcgan(gan_images, _gan(seed=4), tmp_path, progress=False)
    (aside,) = tmp_path.glob("model.pt.*.bad")
    assert aside.read_bytes() == before


def test_item6_explicit_folder_keeps_the_old_checkpoint_aside(gan_images, tmp_path):
    from otlatent.dcgan import train_dcgan

    train_dcgan(gan_images, _gan(iterations=4), tmp_path, progress=False, stop_after=1)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.warns(UserWarning, match="checkpoint of another configuration.*seed: 3 \\(stored\\) vs 5"):
        train_dcgan(gan_images, _gan(iterations=4, seed=5), tmp_path, progress=False, stop_after=1)
    (aside,) = tmp_path.glob("checkpoint.pt.*.bad")
    assert aside.read_bytes() == before


# ------------------------------------------------------------------ 8. corrupt checkpoint.pt / model.pt
@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
@pytest.mark.parametrize("which", ["model.pt", "checkpoint.pt"])
def test_item8_corrupt_run_files_are_set_aside_and_retrained(gan_images, tmp_path, damage, which):
    from otlatent.dcgan import train_dcgan

    cfg = _gan(iterations=3)
    if which == "model.pt":
        train_dcgan(gan_images, cfg, tmp_path, progress=False)
    else:
        train_dcgan(gan_images, cfg, tmp_path, progress=False, stop_after=1)
    path = tmp_path / which
    raw = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": raw[: len(raw) // 2], "garbage": b"\x80\x04garbage" * 50}[damage])
    with pytest.warns(UserWarning, match=rf"{path}: unreadable .*moved it to .*\.bad"):
        run = train_dcgan(gan_images, cfg, tmp_path, progress=False)
    assert run.iteration == 3 and (tmp_path / "model.pt").exists()
    assert len(list(tmp_path.glob(f"{which}.*.bad"))) == 1


# ------------------------------------------------------------------ 7. validation of small parameters
@pytest.mark.parametrize("prior", ["uniform", "gaussian"])
def test_item7_integer_sample_dtypes_are_refused(prior):
    import torch

    from otlatent.priors import get_prior

    with pytest.raises(ValueError, match="dtype must be a floating-point"):
        get_prior(prior).sample(4, 2, seed=0, dtype=np.int64)
    with pytest.raises(ValueError, match="dtype must be a floating-point torch dtype"):
        get_prior(prior).sample(4, 2, seed=0, dtype=torch.int64, device="cpu")
    assert get_prior(prior).sample(4, 2, seed=0, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("sigma", [float("nan"), float("inf"), 0.0, -1.0])
def test_item7_map_latents_refuses_bad_sigma(sigma):
    import torch

    from otlatent.map_reconstruction import map_latents

    decode = torch.nn.Linear(2, 4)
    with pytest.raises(ValueError, match="sigma must be positive and finite"):
        map_latents(lambda z: decode(z).view(-1, 1, 2, 2), torch.zeros(3, 1, 2, 2), torch.zeros(3, 2), sigma, steps=2)


def test_item7_map_latents_refuses_nan_start_and_bad_steps():
    import torch

    from otlatent.map_reconstruction import map_latents

    decode = torch.nn.Linear(2, 4)

    def dec(z):
        return decode(z).view(-1, 1, 2, 2)

    y = torch.zeros(3, 1, 2, 2)
    with pytest.raises(ValueError, match="z0"):
        map_latents(dec, y, torch.full((3, 2), float("nan")), 0.1, steps=2)
    with pytest.raises(ValueError, match="steps"):
        map_latents(dec, y, torch.zeros(3, 2), 0.1, steps=2.5)
    with pytest.raises(ValueError, match="lr"):
        map_latents(dec, y, torch.zeros(3, 2), 0.1, steps=2, lr=float("nan"))


@pytest.mark.parametrize("value", ["no", "yes", 0, None])
def test_item7_vae_config_learn_sigma_must_be_a_bool(value):
    from otlatent.vae import VAEConfig

    with pytest.raises(ValueError, match="learn_sigma must be True or False"):
        VAEConfig(dataset="synthetic", learn_sigma=value)
    with pytest.raises(ValueError, match="sigma must be a positive finite"):
        VAEConfig(dataset="synthetic", sigma=float("nan"))
    assert VAEConfig(dataset="synthetic", learn_sigma=True).learn_sigma is True


# ------------------------------------------------------------------ 9. a checkpoint write that fails (disk full)
def test_item9_failed_checkpoint_write_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    import torch

    from otlatent.runtime import save_checkpoint

    path = tmp_path / "run" / "checkpoint.pt"
    save_checkpoint({"iteration": 1}, path)
    before = path.read_bytes()

    def full_disk(obj, f):
        with open(f, "wb") as out:
            out.write(b"x" * 128)
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 128 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(RuntimeError, match=rf"writing {path} failed .*unexpected pos.*intact.*free.*disk is full"):
        save_checkpoint({"iteration": 2}, path)
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".checkpoint.pt.*.tmp"))

    def no_space(obj, f):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    with pytest.raises(OSError, match=rf"writing {path} failed .*No space left.*intact") as info:
        save_checkpoint({"iteration": 2}, path)
    assert info.value.errno == errno.ENOSPC and path.read_bytes() == before


# ------------------------------------------------------------------ 12. a checkout path with a space
def test_item12_makefile_works_in_a_path_with_a_space(tmp_path):
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("no make")
    repo = Path(__file__).resolve().parents[1]
    checkout = tmp_path / "my checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(repo / "Makefile", checkout / "Makefile")
    (checkout / "pyproject.toml").write_text("")
    fake = checkout / ".venv" / "bin" / "python"
    fake.write_text('#!/bin/sh\necho "FIG=$OTLATENT_FIGURES"\n')
    fake.chmod(0o755)
    installed = checkout / ".venv" / ".installed"
    installed.write_text("")
    os.utime(checkout / "pyproject.toml", (1, 1))
    out = subprocess.run(["make", "-s", "test-lib"], cwd=checkout, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"FIG={checkout}/build/ci/figures" in out.stdout
    out = subprocess.run(["make", "-s", "reproduce", "NB=01"], cwd=checkout, capture_output=True, text=True)
    assert out.returncode == 0 and f"FIG={checkout}/figures" in out.stdout, out.stderr


# ------------------------------------------------------------------ 13. leftovers of killed writes, file modes
def test_item13_stale_checkpoint_temps_are_removed_at_the_next_start(gan_images, tmp_path):
    from otlatent.dcgan import train_dcgan

    cfg = _gan(iterations=2)
    tmp_path.mkdir(exist_ok=True)
    for k in range(3):  # what three kills inside checkpoint writes leave
        (tmp_path / f".checkpoint.pt.{k}abc.tmp").write_bytes(b"\0" * 1000)
    (tmp_path / ".model.pt.xyz.tmp").write_bytes(b"\0")
    (tmp_path / "notes.tmp").write_text("not ours")
    train_dcgan(gan_images, cfg, tmp_path, progress=False)
    assert not list(tmp_path.glob(".checkpoint.pt.*.tmp")) and not list(tmp_path.glob(".model.pt.*.tmp"))
    assert (tmp_path / "notes.tmp").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664)])
def test_item13_written_files_follow_the_umask(tmp_path, umask, mode):
    from otlatent.runtime import atomic_write

    old = os.umask(umask)
    try:
        path = atomic_write(tmp_path / "f.bin", lambda tmp: tmp.write_bytes(b"x"))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode


# ------------------------------------------------------------------ 14. deep errors made clear
def test_item14_sample_on_a_missing_cuda_names_the_device():
    import torch

    from otlatent.priors import Gaussian

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match=r"device 'cuda' is not available here.*device='cpu'"):
        Gaussian().sample(4, 2, seed=0, device="cuda")


@pytest.mark.parametrize("seed", [2**64, -1, 1.5, True])
def test_item14_seeds_out_of_range_are_refused(seed):
    from otlatent.runtime import seed_everything

    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*64\)"):
        seed_everything(seed)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*64\)"):
        _gan(seed=seed)


def test_item14_largest_seed_works():
    from otlatent.runtime import seed_everything

    seed_everything(2**64 - 1)
    assert _gan(seed=2**64 - 1).seed == 2**64 - 1


@pytest.mark.parametrize("t", [5e-324, 1e-300, 1 - 1e-17])
def test_item14_tiny_interpolation_weights_on_the_uniform_prior(t):
    from otlatent import matching
    from otlatent.priors import Uniform

    z, w = Uniform().sample(6, 3, seed=0), Uniform().sample(6, 3, seed=1)
    out = matching.matched_lerp(z, w, t, "uniform")
    near = z if t < 0.5 else w
    np.testing.assert_allclose(out, near, atol=1e-12)


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.zeros((1, 4)), np.ones((5, 4)), "at least 2 samples in features_a"),
        (np.zeros((5, 4)), np.ones((5, 3)), r"different feature sizes \(4 vs 3\)"),
        (np.zeros((5, 4)), np.full((5, 4), np.nan), "features_b holds NaN"),
        (np.zeros(5), np.ones((5, 4)), r"features_a must have shape \(N, D\)"),
    ],
)
def test_item14_fid_input_errors_name_the_argument(a, b, match):
    from otlatent.metrics.distances import frechet_distance

    with pytest.raises(ValueError, match=match):
        frechet_distance(a, b)


def test_item11_unwritable_models_root_names_the_setting(gan_images, tmp_path, monkeypatch):
    from otlatent.dcgan import train_dcgan

    blocker = tmp_path / "read_only_stand_in"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setenv("OTLATENT_MODELS", str(blocker))
    with pytest.raises(OSError, match=r"cannot write .*checkpoint.pt.*OTLATENT_MODELS"):
        train_dcgan(gan_images, _gan(), progress=False)
    monkeypatch.setenv("OTLATENT_MODELS", str(tmp_path / "models_elsewhere"))
    train_dcgan(gan_images, _gan(), progress=False)
    assert (tmp_path / "models_elsewhere" / "models" / _gan().name / "model.pt").exists()


# ------------------------------------------------------------------ kills inside checkpoint writes
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_kill_during_checkpoint_writes_leaves_a_loadable_checkpoint(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from otlatent.runtime import load_checkpoint, remove_stale_temps

    path = tmp_path / "checkpoint.pt"
    script = (
        "import sys, numpy as np\n"
        "from otlatent.runtime import save_checkpoint\n"
        "i = 0\n"
        "while True:\n"
        "    save_checkpoint({'i': i, 'w': np.full(300_000, i, dtype=np.float64)}, sys.argv[1])\n"
        "    i += 1\n"
        "    if i == 2: print('ready', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for kill in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.05 * (kill + 1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        state = load_checkpoint(path)
        assert (state["w"] == state["i"]).all(), "a complete checkpoint, old or new"
    remove_stale_temps(path)
    assert not list(tmp_path.glob(".checkpoint.pt.*.tmp"))


def test_item1_folders_not_unpacked_by_make_data_need_no_marker(tmp_path):
    root = tmp_path / "data"
    _people(root / "lfw-py", ["Ann_Bee"], complete=False)  # torchvision's layout: no .complete expected
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(data.load("lfw", 32, root=root, cache=False)) == 2
