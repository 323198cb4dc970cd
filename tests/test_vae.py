"""VAE: shapes at 45 and 64 px, the ELBO terms against torch.distributions, resumable training (smoke sizes)."""

import math

import numpy as np
import pytest
import torch

from otlatent import data
from otlatent.map_reconstruction import map_latents
from otlatent.posterior import aggregate_posterior, gaussian_kl_to_standard_normal
from otlatent.runs import TrainingDiverged
from otlatent.vae import VAE, VAEConfig, gaussian_log_likelihood, kl_to_standard_normal, load_vae, side_sizes, train_vae


@pytest.mark.parametrize("resolution, sizes", [(45, [45, 22, 11, 5]), (64, [64, 32, 16, 8])])
def test_shapes(resolution, sizes):
    assert side_sizes(resolution) == sizes
    torch.manual_seed(0)
    m = VAE(resolution, nc=3, nz=100, width=8)
    x = torch.rand(3, 3, resolution, resolution) * 2 - 1
    mu, logvar = m.encode(x)
    assert mu.shape == logvar.shape == (3, 100)
    y = m.decode(torch.randn(5, 100))
    assert y.shape == (5, 3, resolution, resolution) and y.abs().max() <= 1
    out = m(x)
    assert out["mean"].shape == x.shape
    assert all(out[k].shape == (3,) for k in ("elbo", "recon", "kl"))
    torch.testing.assert_close(out["elbo"], out["recon"] - out["kl"])
    with pytest.raises(ValueError, match="latents"):
        m.decode(torch.randn(2, 10))
    with pytest.raises(ValueError, match="expected images"):
        m.encode(torch.zeros(1, 3, resolution + 1, resolution + 1))
    with pytest.raises(ValueError, match="at least"):
        VAE(12)


def test_gaussian_log_likelihood_matches_torch_normal():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 3, 7, 7, generator=g) * 2 - 1
    mean = torch.rand(4, 3, 7, 7, generator=g) * 2 - 1
    for sigma in (0.1, 0.37, 1.0):
        ref = torch.distributions.Normal(mean, sigma).log_prob(x).flatten(1).sum(1)
        got = gaussian_log_likelihood(x, mean, math.log(sigma))
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-3)
    # a learned scale gets a gradient d/dlog s = -D + ||x - m||^2 / s^2
    ls = torch.tensor(math.log(0.3), requires_grad=True)
    gaussian_log_likelihood(x[:1], mean[:1], ls).sum().backward()
    d, sq = x[0].numel(), (x[0] - mean[0]).pow(2).sum().item()
    assert ls.grad.item() == pytest.approx(-d + sq / 0.09, rel=1e-4)


def test_kl_matches_torch_and_monte_carlo():
    g = torch.Generator().manual_seed(2)
    mu = torch.randn(3, 6, generator=g)
    logvar = torch.randn(3, 6, generator=g) * 0.5
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = kl_to_standard_normal(mu, logvar)
    torch.testing.assert_close(kl, torch.distributions.kl_divergence(q, p).sum(1))
    z = q.sample((200_000,))
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    torch.testing.assert_close(kl, mc, rtol=0.02, atol=0.02)
    assert kl_to_standard_normal(torch.zeros(2, 5), torch.zeros(2, 5)).abs().max() == 0


def test_forward_uses_the_reparameterisation():
    torch.manual_seed(0)
    m = VAE(45, width=4, nz=7, sigma=0.2)
    x = torch.rand(2, 3, 45, 45) * 2 - 1
    eps = torch.randn(2, 7)
    out = m(x, eps)
    torch.testing.assert_close(out["z"], out["mu"] + torch.exp(0.5 * out["logvar"]) * eps)
    ref = torch.distributions.Normal(m.decode(out["z"]), 0.2).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(out["recon"], ref, rtol=1e-5, atol=1e-2)
    assert not m.log_sigma.requires_grad and m.sigma == pytest.approx(0.2)
    learned = VAE(45, width=4, nz=7, sigma=0.2, learn_sigma=True)
    assert any(p is learned.log_sigma for p in learned.parameters())


def _config(**kw):
    base = dict(
        dataset="synthetic",
        resolution=45,
        nz=16,
        width=8,
        batch_size=16,
        iterations=10,
        lr=2e-3,
        seed=3,
        preset="smoke",
    )
    return VAEConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def images():
    return data.load("synthetic", 45, n=256)


def test_config_validation_and_name():
    assert _config().name == "vae_synthetic_45px_nz16_sigma0.1_smoke_seed3"
    assert "learnedsigma" in _config(learn_sigma=True).name
    for bad in (dict(sigma=0.0), dict(iterations=0), dict(lr=2.0), dict(resolution=10)):
        with pytest.raises(ValueError):
            _config(**bad)


def test_interrupted_run_resumes_to_identical_weights(images, tmp_path):
    cfg = _config(learn_sigma=True)
    straight = train_vae(images, cfg, tmp_path / "a", progress=False)
    part = train_vae(images, cfg, tmp_path / "b", stop_after=4, progress=False)
    assert part.iteration == 4 and not (tmp_path / "b" / "model.pt").exists()
    resumed = train_vae(images, cfg, tmp_path / "b", progress=False)
    assert resumed.iteration == 10 and len(resumed.history["elbo"]) == 10
    for (k, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), k
    for k in ("elbo", "recon", "kl", "sigma"):
        np.testing.assert_array_equal(straight.history[k], resumed.history[k])
    assert straight.history["sigma"][-1] != pytest.approx(0.1, abs=1e-6), "learned scale moved"


def test_finished_model_is_reloaded_not_retrained(images, tmp_path):
    cfg = _config(iterations=3)
    first = train_vae(images, cfg, tmp_path, progress=False)
    again = train_vae(images, cfg, tmp_path, progress=False)
    assert first.optimizer is not None and again.optimizer is None, "reloaded from model.pt"
    x = images.images_u8[:5]
    mu1, lv1 = first.encode(x)
    mu2, lv2 = again.encode(x)
    assert torch.equal(mu1, mu2) and torch.equal(lv1, lv2)
    assert torch.equal(first.decode(mu1), again.decode(mu2))
    loaded = load_vae(tmp_path / "model.pt")
    assert loaded.config == cfg and len(loaded.history["kl"]) == 3
    meta = torch.load(tmp_path / "model.pt", weights_only=False)["meta"]
    assert meta["images"] == 256 and meta["sigma"] == 0.1
    with pytest.warns(UserWarning, match="another configuration"):
        other = train_vae(images, _config(iterations=3, seed=4), tmp_path, progress=False)
    assert other.optimizer is not None, "a different config is trained, not reloaded"


def test_divergence_stops_with_a_message(images, tmp_path, monkeypatch):
    import otlatent.vae as vae_mod

    real = vae_mod.gaussian_log_likelihood
    monkeypatch.setattr(vae_mod, "gaussian_log_likelihood", lambda *a: real(*a) * float("nan"))
    with pytest.raises(TrainingDiverged, match="diverged at iteration 0"):
        train_vae(images, _config(), tmp_path, progress=False)


def test_training_lowers_the_negative_elbo(images, tmp_path):
    cfg = _config(iterations=60, batch_size=32, width=16)
    run = train_vae(images, cfg, tmp_path, progress=False)
    elbo = run.history["elbo"]
    assert np.isfinite(elbo).all() and set(run.history) == {"elbo", "recon", "kl", "sigma"}
    np.testing.assert_allclose(elbo, run.history["recon"] - run.history["kl"], rtol=1e-5)
    assert elbo[-10:].mean() > elbo[:5].mean() + 0.2 * abs(elbo[:5].mean()), (elbo[:5], elbo[-10:])
    torch.manual_seed(cfg.seed)
    init = cfg.build()  # the run's initial weights
    from otlatent.vae import VAERun

    before = VAERun(cfg, init, {}, 0, 0.0).evaluate(images.images_u8[:64], seed=0)["elbo"].mean()
    after = run.evaluate(images.images_u8[:64], seed=0)["elbo"].mean()
    assert after > before
    recon = run.reconstruct(images.images_u8[:4])
    assert recon.shape == (4, 3, 45, 45)


def test_wrong_image_shape(images, tmp_path):
    with pytest.raises(ValueError, match="config expects"):
        train_vae(images, _config(resolution=64), tmp_path, progress=False)


# --------------------------------------------------------------------------- aggregated posterior, MAP, vae_for


def test_gaussian_kl_matches_torch_distributions():
    from torch.distributions import MultivariateNormal, kl_divergence

    g = torch.Generator().manual_seed(5)
    a = torch.randn(6, 6, generator=g, dtype=torch.float64)
    cov = a @ a.T / 6 + 0.3 * torch.eye(6, dtype=torch.float64)
    m = torch.randn(6, generator=g, dtype=torch.float64)
    ref = kl_divergence(
        MultivariateNormal(m, cov),
        MultivariateNormal(torch.zeros(6, dtype=torch.float64), torch.eye(6, dtype=torch.float64)),
    )
    assert gaussian_kl_to_standard_normal(m, cov) == pytest.approx(float(ref), rel=1e-10)
    diag = torch.diagonal(cov)
    assert gaussian_kl_to_standard_normal(m, diag) == pytest.approx(
        gaussian_kl_to_standard_normal(m, torch.diag(diag)), rel=1e-12
    )
    assert gaussian_kl_to_standard_normal(torch.zeros(4), torch.ones(4)) == pytest.approx(0.0, abs=1e-12)


def test_aggregate_posterior_of_a_matched_encoder_is_the_prior():
    # means ~ N(0, a^2) with posterior variance 1 - a^2: q(z) = N(0, 1) exactly; 3 collapsed dimensions.
    g = torch.Generator().manual_seed(0)
    n, d = 20_000, 8
    a = torch.tensor([0.9, 0.8, 0.7, 0.5, 0.3, 0.0, 0.0, 0.0])
    mu = torch.randn(n, d, generator=g) * a
    logvar = torch.log(1 - a**2).expand(n, d)
    agg = aggregate_posterior(mu, logvar)
    np.testing.assert_allclose(agg["var_means"], (a**2).numpy(), atol=0.03)
    np.testing.assert_allclose(agg["total_var"], np.ones(d), atol=0.03)
    assert agg["active"].tolist() == [True] * 5 + [False] * 3
    assert 0 <= agg["kl_gaussian_fit"] < 0.01
    # the means alone are far from the prior: KL of N(0, diag a^2), collapsed dims clamped by the sampling noise
    assert agg["kl_means_fit"] > 0.5 * float(-torch.log(a[:5] ** 2).sum() - 5 + (a[:5] ** 2).sum())


def test_map_latents_matches_the_closed_form_for_a_linear_decoder():
    # decoder m(z) = A z: the MAP is ridge regression, z* = (A^T M A / s^2 + I)^-1 A^T M y / s^2 per image.
    g = torch.Generator().manual_seed(2)
    nz, shape = 4, (1, 3, 3)
    A = torch.randn(9, nz, generator=g)
    decode = torch.nn.Linear(nz, 9, bias=False)
    decode.weight.data = A.clone()
    dec = lambda z: decode(z).view(-1, *shape)  # noqa: E731
    y = torch.randn(5, *shape, generator=g)
    mask = torch.rand(5, *shape, generator=g) > 0.3
    sigma = torch.tensor([0.5, 1.0, 0.3, 2.0, 0.7])
    z, energy = map_latents(dec, y, torch.zeros(5, nz), sigma, mask, steps=3000, lr=0.02)
    for i in range(5):
        M = torch.diag(mask[i].flatten().float())
        H = A.T @ M @ A / sigma[i] ** 2 + torch.eye(nz)
        expected = torch.linalg.solve(H, A.T @ M @ y[i].flatten() / sigma[i] ** 2)
        torch.testing.assert_close(z[i], expected, atol=2e-3, rtol=1e-3)
    assert energy.shape == (3001, 5) and (energy[-1] <= energy[0]).all()
    assert decode.weight.requires_grad, "the decoder's flags are restored"


def test_map_latents_improves_the_fit_of_a_trained_vae(images, tmp_path):
    run = train_vae(images, _config(iterations=40, batch_size=32, width=16), tmp_path, progress=False)
    x = images.images[:16]
    mu, _ = run.encode(x)
    z, energy = map_latents(run.model.decode, x, mu, run.model.sigma, steps=30, lr=0.05)
    assert energy[-1].mean() < energy[0].mean()
    err = lambda zz: float((run.decode(zz) - x).pow(2).mean())  # noqa: E731
    assert err(z) < err(mu)
    with pytest.raises(ValueError, match="starting latents"):
        map_latents(run.model.decode, x, mu[:3], 0.1)
    with pytest.raises(ValueError, match="positive"):
        map_latents(run.model.decode, x, mu, 0.0)


def test_vae_for_splits_trains_and_reloads(tmp_path, monkeypatch):
    import otlatent
    from otlatent.trained import vae_for, vae_images_for

    monkeypatch.setenv("OTLATENT_DATA", str(tmp_path))
    study = otlatent.start("07_test", preset="smoke", dataset="synthetic", quiet=True)
    train, test = vae_images_for(study)
    preset = study.preset
    assert len(test) == min(preset.vae_test, preset.vae_max_images // 5)
    assert len(train) + len(test) == preset.vae_max_images
    assert train.images_u8.shape[2:] == (preset.vae_resolution,) * 2
    run = vae_for(study, train, progress=False)
    assert run.config.learn_sigma and run.config.width == preset.vae_width
    assert run.iteration == int(np.ceil(preset.vae_epochs * len(train) / preset.vae_batch))
    assert (tmp_path / "models" / run.config.name / "model.pt").is_file()
    assert vae_for(study, train, progress=False).optimizer is None, "reloaded, not retrained"


def test_lfw_held_out_people_are_never_trained_on(tmp_path, monkeypatch):
    import io

    from PIL import Image

    import otlatent
    from otlatent.trained import vae_images_for

    def jpeg(v):
        buf = io.BytesIO()
        Image.new("RGB", (250, 250), (v, 100, 200)).save(buf, format="JPEG")
        return buf.getvalue()

    people = [("Al_A", 3), ("Bo_B", 6), ("Cy_C", 1)]  # 10 images; the last 2 held out would split Bo_B
    for name, k in people:
        folder = tmp_path / "lfw-deepfunneled" / name
        folder.mkdir(parents=True)
        for j in range(k):
            (folder / f"{name}_{j + 1:04d}.jpg").write_bytes(jpeg(20 * j))
    (tmp_path / "lfw-deepfunneled" / ".complete").touch()
    monkeypatch.setenv("OTLATENT_DATA", str(tmp_path))
    study = otlatent.start("07_test", preset="smoke", dataset="lfw", quiet=True)
    train, test = vae_images_for(study)
    assert len(train) == 8 and len(test) == 1, "Bo_B's held-out image is dropped, only Cy_C is held out"
    assert train.labels is None and test.labels.tolist() == [0]
