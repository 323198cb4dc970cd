"""The dry run of the paper preset (``paper-dry``): the paper's architecture with a handful of iterations, wired into
``make dry-run`` and ``make test``.
"""

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from otlatent import config, notebooks, trained
from otlatent.classifier import ClassifierConfig
from otlatent.dcgan import GANConfig
from otlatent.vae import VAEConfig

ROOT = Path(__file__).resolve().parents[1]
PAPER, DRY = config.PRESETS["paper"], config.PRESETS["paper-dry"]


def test_the_dry_run_is_derived_from_the_paper_preset():
    assert DRY == config.dry_run(PAPER), "paper-dry must follow every edit of paper"
    assert DRY.name == "paper-dry"
    fields = {f.name for f in dataclasses.fields(config.Preset)} - {"name", "description"}
    assert set(config.COUNT_FIELDS) <= fields, "COUNT_FIELDS names fields of Preset"


def test_the_dry_run_keeps_every_architecture_resolution_and_batch_field():
    kept = [f.name for f in dataclasses.fields(config.Preset)]
    kept = [k for k in kept if k not in config.COUNT_FIELDS and k not in ("name", "description")]
    assert {"gan_resolution", "gan_width", "gan_batch", "clf_width", "vae_resolution", "vae_width", "vae_batch"} <= set(
        kept
    ), "architecture fields are never shrunk"
    for name in kept:
        assert getattr(DRY, name) == getattr(PAPER, name), name
    # and those are the paper's, not smaller ones: 64 px, width 64, batch 128
    assert (DRY.gan_resolution, DRY.gan_width, DRY.gan_batch) == (64, 64, 128)
    assert (DRY.vae_resolution, DRY.vae_width, DRY.vae_batch) == (64, 64, 128)


def test_the_dry_run_counts_are_small_and_every_batch_is_full():
    for name in config.COUNT_FIELDS:
        dry, paper = getattr(DRY, name), getattr(PAPER, name)
        assert dry is not None, f"{name}: a dry run loads a bounded number of images"
        assert paper is None or dry <= paper, name
    # a handful of DCGAN iterations, each on a full paper-size batch
    assert DRY.gan_max_images >= DRY.gan_batch
    assert 1 <= trained.iterations_for(DRY.gan_max_images, DRY) <= 5
    assert DRY.gan_calibration >= DRY.gan_batch
    # the VAE: the images left after the held-out ones (trained.vae_images_for) fill at least one batch
    vae_train = DRY.vae_max_images - min(DRY.vae_test, DRY.vae_max_images // 5)
    assert vae_train >= DRY.vae_batch
    assert 1 <= trained.iterations_for(vae_train, DRY, DRY.vae_epochs, DRY.vae_batch) <= 5
    # every inception-score split gets images, the classifier has a test set
    assert DRY.n_score % DRY.score_splits == 0 and DRY.n_score // DRY.score_splits >= 2
    assert 0 < DRY.clf_test < DRY.clf_train
    assert DRY.n_sim <= 20_000 and DRY.n_recon <= 16 and DRY.map_steps <= 10


def test_dry_run_models_never_collide_with_paper_runs():
    gan = dict(dataset="synthetic", prior="gaussian", resolution=64, nc=3, width=64, batch_size=128, iterations=2)
    vae = dict(dataset="lfw", resolution=64, nc=3, width=64, batch_size=128, iterations=2)
    clf = dict(dataset="synthetic", resolution=64, width=32, epochs=1, n_train=512, n_test=200)
    for cls, kwargs in ((GANConfig, gan), (VAEConfig, vae), (ClassifierConfig, clf)):
        paper, dry = cls(preset="paper", **kwargs), cls(preset="paper-dry", **kwargs)
        assert paper.name != dry.name, cls.__name__
        assert "paper-dry" in dry.name, cls.__name__


def test_a_dry_run_never_replaces_the_committed_notebooks(monkeypatch, tmp_path):
    assert notebooks.COMMITTED_PRESET != DRY.name
    executed = []

    def fake_execute(notebook, target, parameters, cwd=None, **kwargs):
        executed.append(parameters)
        Path(target).write_text("{}")

    monkeypatch.setattr(notebooks, "execute_notebook", fake_execute)
    committed = {p: p.read_bytes() for p in (ROOT / "notebooks").glob("0[14]_*.ipynb")}
    timings = notebooks.reproduce("paper-dry", only=["01", "04"], datasets=["synthetic"], out=tmp_path)
    assert [name for name, _ in timings] == ["01_optimal_transport_1d", "04_dcgan_training_synthetic"]
    assert all(p["preset"] == "paper-dry" for p in executed)
    assert {p: p.read_bytes() for p in committed} == committed, "a dry run must not touch notebooks/*.ipynb"


def test_make_dry_run_and_make_test_run_the_dry_run():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^dry-run:.*\n\t\$\(MAKE\) reproduce PRESET=paper-dry$", makefile, re.M)
    assert re.search(r"^test: .*\btest-dry-run\b", makefile, re.M), "make test (CI) runs the dry run"
    recipe = makefile.split("\ntest-dry-run:", 1)[1].split("\n\n", 1)[0]
    assert "prepare --preset paper-dry" in recipe and "--nbval-lax" in recipe
    assert "build/ci-dry/figures" in recipe, "the dry run's figures go under build/, never to figures/"
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_dry_run_writes_its_figures_under_build():
    out = subprocess.run(
        ["make", "-n", "dry-run", "PY=python", "VENV=/nonexistent"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if "otlatent.notebooks reproduce" in x)
    assert "--preset paper-dry" in line
    assert f'OTLATENT_FIGURES="{ROOT}/build/paper-dry/figures"' in line
