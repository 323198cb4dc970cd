"""DCGAN architecture and the resumable training loop (smoke sizes)."""

import numpy as np
import pytest
import torch

from otlatent import data
from otlatent.dcgan import Discriminator, GANConfig, Generator, load_generator, train_dcgan
from otlatent.runs import TrainingDiverged


@pytest.mark.parametrize("resolution", [32, 64])
def test_shapes_and_init(resolution):
    torch.manual_seed(0)
    G, D = Generator(nz=100, nc=3, width=16, resolution=resolution), Discriminator(3, 16, resolution)
    x = G(torch.randn(5, 100))
    assert x.shape == (5, 3, resolution, resolution) and x.abs().max() <= 1
    assert D(x).shape == (5,)
    w = G.net[0].weight
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002
    assert all(m.bias is None for m in G.modules() if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Conv2d)))
    with pytest.raises(ValueError, match="32 or 64"):
        Generator(resolution=48)
    with pytest.raises(ValueError, match=r"\(N, 100\)"):
        G(torch.randn(5, 10))


def _config(**kw):
    base = dict(
        dataset="synthetic",
        prior="uniform",
        resolution=32,
        width=8,
        batch_size=16,
        iterations=12,
        seed=3,
        preset="smoke",
    )
    return GANConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def images():
    return data.make_synthetic(128, 32, seed=0)


def test_interrupted_run_resumes_to_identical_weights(images, tmp_path):
    cfg = _config()
    straight = train_dcgan(images, cfg, tmp_path / "a", progress=False)
    part = train_dcgan(images, cfg, tmp_path / "b", stop_after=5, progress=False)
    assert part.iteration == 5 and not (tmp_path / "b" / "model.pt").exists()
    resumed = train_dcgan(images, cfg, tmp_path / "b", progress=False)
    assert resumed.iteration == 12
    for (k, a), (_, b) in zip(straight.generator.state_dict().items(), resumed.generator.state_dict().items()):
        assert torch.equal(a, b), k
    np.testing.assert_array_equal(straight.history["loss_d"], resumed.history["loss_d"])
    assert [s[0] for s in straight.snapshots] == [s[0] for s in resumed.snapshots]


def test_finished_model_is_reloaded_not_retrained(images, tmp_path):
    cfg = _config(iterations=4)
    first = train_dcgan(images, cfg, tmp_path, progress=False)
    again = train_dcgan(images, cfg, tmp_path, progress=False)
    assert again.discriminator is None, "reloaded from model.pt"
    z = first.prior.sample(4, cfg.nz, seed=0, device="cpu")
    assert torch.equal(first.generate(z), again.generate(z))
    loaded = load_generator(tmp_path / "model.pt")
    assert loaded.config == cfg and len(loaded.history["loss_g"]) == 4


def test_training_changes_the_generator_and_logs(images, tmp_path):
    cfg = _config(iterations=6, prior="gaussian")
    run = train_dcgan(images, cfg, tmp_path, progress=False)
    init = Generator(cfg.nz, cfg.nc, cfg.width, cfg.resolution)
    assert set(run.history) == {"loss_d", "loss_g", "d_real", "d_fake"}
    assert all(len(v) == 6 and np.isfinite(v).all() for v in run.history.values())
    assert run.snapshots[0][0] == 0 and run.snapshots[-1][0] == 6
    assert run.snapshots[0][1].shape == (64, 3, 32, 32) and run.snapshots[0][1].dtype == np.uint8
    assert not torch.equal(init.net[0].weight, run.generator.net[0].weight)


def test_divergence_stops_with_a_message(images, tmp_path, monkeypatch):
    import otlatent.dcgan as train_mod

    class NanLoss(torch.nn.BCEWithLogitsLoss):
        def forward(self, input, target):
            return super().forward(input, target) * float("nan")

    monkeypatch.setattr(train_mod.nn, "BCEWithLogitsLoss", NanLoss)
    with pytest.raises(TrainingDiverged, match="diverged at iteration 0"):
        train_dcgan(images, _config(iterations=50), tmp_path, progress=False)


def test_bad_config_and_shapes(images, tmp_path):
    with pytest.raises(ValueError, match="prior"):
        _config(prior="cauchy-ish")
    with pytest.raises(ValueError, match="iterations"):
        _config(iterations=0)
    with pytest.raises(ValueError, match="config expects"):
        train_dcgan(images, _config(resolution=64), tmp_path, progress=False)


def test_calibrated_batchnorm_matches_batch_statistics():
    from otlatent.dcgan import calibrate_batchnorm
    from otlatent.priors import get_prior

    torch.manual_seed(0)
    G = Generator(nz=100, nc=3, width=8, resolution=32)
    prior = get_prior("gaussian")
    calibrate_batchnorm(G, prior, n=2048, batch_size=256, seed=1)
    bn = G.net[1]
    G.train()
    with torch.no_grad():
        z = prior.sample(4096, 100, seed=99, device="cpu")
        h = G.net[0](z[:, :, None, None])
    np.testing.assert_allclose(bn.running_mean.numpy(), h.mean((0, 2, 3)).numpy(), atol=0.02 * h.std().item())
    np.testing.assert_allclose(bn.running_var.numpy(), h.var((0, 2, 3)).numpy(), rtol=0.1)
    assert bn.momentum == 0.1, "momentum restored"
    G.eval()
    x = G(z[:8])
    assert torch.equal(G(z[:1]), x[:1]), "eval-mode images depend on their own latent only"


def test_generate_batch_statistics_renormalises_the_batch_and_leaves_the_model_alone():
    """Train-mode batch norm rescales a batch of short latents like a batch of prior samples (what notebook 05
    shows); eval mode with calibrated statistics keeps the difference; the generator's statistics and mode are
    untouched."""
    from otlatent.dcgan import Generator, calibrate_batchnorm, generate, generate_batch_statistics
    from otlatent.priors import get_prior

    torch.manual_seed(0)
    g = calibrate_batchnorm(Generator(nz=16, nc=3, width=8, resolution=32), get_prior("gaussian"), n=512).eval()
    before = {k: v.clone() for k, v in g.state_dict().items()}
    z = torch.randn(64, 16)
    full, short = generate_batch_statistics(g, z), generate_batch_statistics(g, 0.5 * z)
    assert not g.training and all(torch.equal(before[k], v) for k, v in g.state_dict().items())
    # train mode: the first batch norm removes a rescaling of the whole batch of latents (up to its eps)
    eval_gap = (generate(g, z) - generate(g, 0.5 * z)).abs().max()
    assert (full - short).abs().max() < 0.05 * eval_gap
    # eval mode: each image depends on its own latent, and a shorter latent gives another image
    assert eval_gap > 1e-2
