"""Model packs: pack the finished models of a preset, unpack them elsewhere, and the notebooks reload them."""

import io
import json
import tarfile

import pytest
import torch

from otlatent import data, packs
from otlatent.dcgan import GANConfig, load_generator, train_dcgan
from otlatent.runs import finished_run


@pytest.fixture
def trained(tmp_path, monkeypatch):
    """A models root with two finished smoke DCGANs, a cpu one, and an unfinished smoke run; a cache root with a
    scored-set table and MAP latents of a smoke model and of a cpu model, and a smoke file of the wrong type.
    """
    root = tmp_path / "teacher"
    monkeypatch.setenv("OTLATENT_MODELS", str(root))
    monkeypatch.setenv("OTLATENT_CACHE", str(tmp_path / "teacher-cache"))
    scores = tmp_path / "teacher-cache" / "scores"
    latents = tmp_path / "teacher-cache" / "latents"
    scores.mkdir(parents=True)
    latents.mkdir()
    for preset in ("smoke", "cpu"):
        (scores / f"dcgan_synthetic_gaussian_32px_{preset}_seed0_0123456789ab.csv").write_text(
            f"set,draw,score,value\nrandom samples,0,FID,{preset}\n"
        )
        torch.save({"z": torch.zeros(2, 3)}, latents / f"vae_synthetic_45px_{preset}_seed0_map_0123456789ab.pt")
    (scores / "dcgan_synthetic_gaussian_32px_smoke_seed0_0123456789ab.pt").write_bytes(b"not a table")
    images = data.make_synthetic(64, 32, seed=1)
    configs = [
        GANConfig(dataset="synthetic", prior=p, width=4, batch_size=16, iterations=3, seed=s, preset=preset)
        for p, s, preset in [("gaussian", 0, "smoke"), ("uniform", 0, "smoke"), ("gaussian", 0, "cpu")]
    ]
    for config in configs:
        train_dcgan(images, config, progress=False)
    unfinished = GANConfig(
        dataset="synthetic", prior="gaussian", width=4, batch_size=16, iterations=5, seed=9, preset="smoke"
    )
    train_dcgan(images, unfinished, stop_after=2, progress=False)
    return root, images, configs


def test_pack_holds_the_finished_models_of_one_preset(trained, tmp_path):
    root, _, configs = trained
    files = packs.pack_files("smoke", root)
    assert [f.parent.name for f in files] == sorted(c.name for c in configs[:2])
    archive = packs.pack("smoke", tmp_path / "p.tar.gz", root)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile(packs.MANIFEST).read())
    assert names[0] == packs.MANIFEST and len(names) == 5, (
        "manifest, two models, one table, one latents file; no checkpoint, no cpu run, no file of the wrong type"
    )
    assert names[-2:] == [
        "cache/latents/vae_synthetic_45px_smoke_seed0_map_0123456789ab.pt",
        "cache/scores/dcgan_synthetic_gaussian_32px_smoke_seed0_0123456789ab.csv",
    ]
    assert manifest["preset"] == "smoke" and all(len(e["sha256"]) == 64 for e in manifest["files"])
    with pytest.raises(packs.PackError, match="make reproduce PRESET=paper"):
        packs.pack("paper", tmp_path / "none.tar.gz", root)


def test_unpacked_models_are_reloaded_not_retrained(trained, tmp_path):
    root, images, configs = trained
    archive = packs.pack("smoke", tmp_path / "p.tar.gz", root)
    student = tmp_path / "student"
    written = packs.unpack(archive, student, tmp_path / "student-cache")
    assert len(written) == 4
    for cached in ("scores/dcgan_synthetic_gaussian_32px_smoke_seed0_0123456789ab.csv",
                   "latents/vae_synthetic_45px_smoke_seed0_map_0123456789ab.pt"):  # fmt: skip
        assert (tmp_path / "student-cache" / cached).read_bytes() == (tmp_path / "teacher-cache" / cached).read_bytes()
    for config in configs[:2]:
        _, _, run = finished_run(config, images.images_u8, config.run_dir(student), load_generator, "cpu")
        assert run is not None, "the notebook reloads the pack's model"
        original = load_generator(config.run_dir(root) / "model.pt")
        for a, b in zip(run.generator.state_dict().values(), original.generator.state_dict().values()):
            assert torch.equal(a, b)
    assert packs.unpack(archive, student, tmp_path / "student-cache") == [], "unpacking twice writes nothing"


def _rewrite(archive, out, change):
    """Copy a pack, applying ``change(name, data) -> (name, data)`` to every member."""
    with tarfile.open(archive) as tar, tarfile.open(out, "w:gz") as new:
        for m in tar.getmembers():
            name, blob = change(m.name, tar.extractfile(m).read())
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            new.addfile(info, io.BytesIO(blob))
    return out


def test_damaged_unsafe_and_conflicting_packs_are_refused(trained, tmp_path):
    root, _, _ = trained
    archive = packs.pack("smoke", tmp_path / "p.tar.gz", root)
    flipped = _rewrite(
        archive, tmp_path / "bad.tar.gz", lambda n, d: (n, d if n == packs.MANIFEST else d[:-1] + bytes([d[-1] ^ 1]))
    )
    with pytest.raises(packs.PackError, match="checksum"):
        packs.unpack(flipped, tmp_path / "s1")
    assert not (tmp_path / "s1").exists(), "nothing is written from a damaged pack"

    def escape(name, blob):
        if name == packs.MANIFEST:
            m = json.loads(blob)
            m["files"][0]["path"] = "../../evil.pt"
            return name, json.dumps(m).encode()
        return name, blob

    with pytest.raises(packs.PackError, match="refuses the path"):
        packs.unpack(_rewrite(archive, tmp_path / "evil.tar.gz", escape), tmp_path / "s2")

    def wrong_type(name, blob):  # a cached file must have its folder's type: no pickle in cache/scores
        if name == packs.MANIFEST:
            m = json.loads(blob)
            for entry in m["files"]:
                if entry["path"].startswith("cache/latents/"):
                    entry["path"] = "cache/scores/x_smoke_0.pt"
            return name, json.dumps(m).encode()
        return ("cache/scores/x_smoke_0.pt" if name.startswith("cache/latents/") else name), blob

    with pytest.raises(packs.PackError, match="refuses the path 'cache/scores/x_smoke_0.pt'"):
        packs.unpack(_rewrite(archive, tmp_path / "odd.tar.gz", wrong_type), tmp_path / "s5")
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(packs.PackError, match="copy it again"):
        packs.unpack(truncated, tmp_path / "s3")
    other = tmp_path / "s4"
    packs.unpack(archive, other)
    target = packs.pack_files("smoke", other)[0]
    target.write_bytes(b"another model")
    with pytest.raises(packs.PackError, match="differ from the ones already installed"):
        packs.unpack(archive, other)
    assert target.read_bytes() == b"another model", "an installed model is never replaced"


def test_command_line(trained, tmp_path, capsys):
    root, _, _ = trained
    out = tmp_path / "cli.tar.gz"
    assert packs.main(["pack", "--preset", "smoke", "--out", str(out)]) == 0
    assert packs.main(["unpack", str(tmp_path / "missing.tar.gz")]) == 2
    assert "error:" in capsys.readouterr().err


def test_a_different_cached_table_is_never_replaced(trained, tmp_path):
    root, _, _ = trained
    archive = packs.pack("smoke", tmp_path / "p.tar.gz", root)
    cache = tmp_path / "student-cache"
    mine = cache / "scores" / "dcgan_synthetic_gaussian_32px_smoke_seed0_0123456789ab.csv"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own scores")
    with pytest.raises(packs.PackError, match="differ from the ones already installed"):
        packs.unpack(archive, tmp_path / "student", cache)
    assert mine.read_text() == "my own scores" and not (tmp_path / "student").exists()
