"""Wasserstein auto-encoders: the IMQ MMD against quadrature and its unbiasedness, WAE-GAN's loss signs, resumable
training of both objectives, the latent-law tests, and matching to a learned law (smoke sizes).
"""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from otlatent import data
from otlatent.matching import EmpiricalLaw, match_to_law, operation_samples
from otlatent.posterior import imq_mmd_test, latent_law
from otlatent.wae import IMQ_SCALES, WAE, WAEConfig, adversary_losses, imq_mmd2, load_wae, squared_error_cost, train_wae


def _expected_imq(mean: float, var: float, c: float) -> float:
    """E[C / (C + t^2)] for t ~ N(mean, var), by quadrature."""
    sd = math.sqrt(var)
    return integrate.quad(lambda t: c / (c + t * t) * stats.norm.pdf(t, mean, sd), -np.inf, np.inf)[0]


def _population_mmd2(shift: float) -> float:
    """MMD^2 of N(0, 1) and N(shift, 1) in 1-D with the summed IMQ kernel (C = 2 s): x - x' ~ N(0, 2), x - y ~
    N(-shift, 2)."""
    return sum(2 * _expected_imq(0.0, 2.0, 2 * s) - 2 * _expected_imq(shift, 2.0, 2 * s) for s in IMQ_SCALES)


def test_imq_mmd2_matches_quadrature_and_is_unbiased():
    gen = torch.Generator().manual_seed(0)
    for shift in (0.0, 1.0):
        expected = _population_mmd2(shift)
        est = [
            float(
                imq_mmd2(
                    torch.randn(40, 1, generator=gen, dtype=torch.float64),
                    torch.randn(40, 1, generator=gen, dtype=torch.float64) + shift,
                )
            )
            for _ in range(400)
        ]
        se = np.std(est) / math.sqrt(len(est))
        assert abs(np.mean(est) - expected) < 4 * se, (shift, np.mean(est), expected, se)
    assert _population_mmd2(1.0) > 0.1  # the test above could tell the two apart
    x = torch.randn(5, 3, generator=gen)
    with pytest.raises(ValueError):
        imq_mmd2(x[:1], x)
    with pytest.raises(ValueError):
        imq_mmd2(x, torch.randn(5, 2))


def test_imq_mmd2_of_equal_laws_is_negative_half_the_time():
    gen = torch.Generator().manual_seed(1)
    est = np.array(
        [float(imq_mmd2(torch.randn(30, 4, generator=gen), torch.randn(30, 4, generator=gen))) for _ in range(300)]
    )
    assert 0.3 < (est < 0).mean() < 0.7, "an unbiased estimate of 0 is negative about half the time"


def test_adversary_loss_signs():
    confident = torch.full((8,), 10.0)
    # a perfect adversary: prior draws called real, codes called fake -> its loss ~0, the encoder's penalty large
    adv, pen = adversary_losses(confident, -confident)
    assert adv < 1e-3 and pen > 9
    # codes the adversary takes for prior draws: the encoder's penalty ~0, the adversary's loss large
    adv, pen = adversary_losses(confident, confident)
    assert pen < 1e-3 and adv > 9
    # descending the penalty raises D(codes)
    logits = torch.zeros(8, requires_grad=True)
    adversary_losses(confident, logits)[1].backward()
    assert (logits.grad < 0).all()


def test_squared_error_cost_is_in_unit_range_pixels():
    x = torch.full((2, 1, 4, 4), -1.0)
    y = torch.full((2, 1, 4, 4), 1.0)  # every pixel off by 1 in [0, 1] units
    assert torch.allclose(squared_error_cost(x, y), torch.tensor([16.0, 16.0]))


@pytest.mark.parametrize("resolution, nc", [(28, 1), (45, 3)])
def test_shapes(resolution, nc):
    m = WAE(resolution, nc, nz=8, width=8).eval()
    x = torch.rand(3, nc, resolution, resolution) * 2 - 1
    z, rec = m(x)
    assert z.shape == (3, 8) and rec.shape == x.shape and rec.abs().max() <= 1
    with pytest.raises(ValueError):
        m.encode(torch.zeros(1, nc, resolution + 1, resolution + 1))
    with pytest.raises(ValueError):
        m.decode(torch.zeros(1, 9))


def _config(**kw):
    base = dict(
        dataset="synthetic", resolution=28, nc=3, nz=4, width=8, batch_size=16, iterations=8, seed=2, preset="smoke"
    )
    return WAEConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def images():
    return data.load("synthetic", 28, n=128)


def test_config_validation_and_name():
    assert _config().name == "wae-mmd_synthetic_28px_nz4_lam10_smoke_seed2"
    assert _config(objective="gan").label == "WAE-GAN"
    for bad in (dict(objective="vae"), dict(lam=0.0), dict(lam=float("inf")), dict(resolution=10), dict(beta1=1.0)):
        with pytest.raises(ValueError):
            _config(**bad)


@pytest.mark.parametrize("objective", ["mmd", "gan"])
def test_interrupted_run_resumes_to_identical_weights(images, tmp_path, objective):
    cfg = _config(objective=objective)
    straight = train_wae(images, cfg, tmp_path / "a", progress=False)
    part = train_wae(images, cfg, tmp_path / "b", stop_after=3, progress=False)
    assert part.iteration == 3 and not (tmp_path / "b" / "model.pt").exists()
    resumed = train_wae(images, cfg, tmp_path / "b", progress=False)
    for (k, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), k
    for k in straight.history:
        np.testing.assert_array_equal(straight.history[k], resumed.history[k])
    assert ("adversary" in straight.history) == (objective == "gan")
    again = train_wae(images, cfg, tmp_path / "a", progress=False)  # finished: reloaded
    assert again.iteration == 8 and (again.adversary is not None) == (objective == "gan")
    x = images.images_u8[:4]
    assert torch.equal(straight.encode(x), again.encode(x))
    assert load_wae(tmp_path / "a" / "model.pt").config == cfg


def test_training_lowers_the_cost(images, tmp_path):
    run = train_wae(images, _config(iterations=60, lr=3e-3), tmp_path, progress=False)
    cost = run.history["cost"]
    assert cost[-10:].mean() < 0.7 * cost[:5].mean()


def test_latent_law_of_prior_draws_and_of_scaled_draws():
    gen = torch.Generator().manual_seed(3)
    d = 4
    good = latent_law(torch.randn(4000, d, generator=gen), n_mmd=400, n_perm=100)
    bad = latent_law(1.5 * torch.randn(4000, d, generator=gen), n_mmd=400, n_perm=100)
    assert bad["mmd_p"] <= 0.02 and bad["ks_rejected"] == d and good["ks_rejected"] == 0
    assert bad["kl_gaussian_fit"] == pytest.approx(d / 2 * (2.25 - 1 - math.log(2.25)), rel=0.1)
    assert good["kl_gaussian_fit"] < 0.01
    assert good["prior_norm_mean"] == pytest.approx(
        float(torch.randn(200_000, d, generator=gen).norm(dim=1).mean()), rel=0.01
    )
    assert good["norm_mean"] == pytest.approx(good["prior_norm_mean"], rel=0.03)


def test_mmd_permutation_test_is_calibrated_under_the_null():
    gen = torch.Generator().manual_seed(4)
    p = [
        imq_mmd_test(torch.randn(60, 2, generator=gen), torch.randn(60, 2, generator=gen), n_perm=99, seed=s)["p"]
        for s in range(60)
    ]
    assert 0.0 <= np.mean(np.array(p) < 0.1) <= 0.25  # nominal 0.1


def test_learned_law_map_sends_codes_to_themselves():
    gen = torch.Generator().manual_seed(5)
    codes = torch.cat([torch.randn(3000, 1, generator=gen), torch.rand(3000, 1, generator=gen) ** 2], 1)
    mapped = match_to_law(codes, (1.0,), codes, n_mc=300_000)
    err = (mapped - codes).abs()
    # Monte Carlo error only: small in the bulk, larger in the tails where few resampled codes fall
    assert err.median() < 0.005 and err.quantile(0.99) < 0.03 and err.max() < 0.3


def test_learned_law_map_gives_the_target_law():
    gen = torch.Generator().manual_seed(6)
    codes = torch.randn(20_000, 3, generator=gen)
    y = 0.5 * (torch.randn(5000, 3, generator=gen) + torch.randn(5000, 3, generator=gen))  # law N(0, 1/2)
    assert stats.kstest(y[:, 0].numpy(), "norm").pvalue < 1e-6  # the input is off the target law
    mapped = match_to_law(y, (0.5, 0.5), codes, seed=1)
    for j in range(3):
        assert stats.kstest(mapped[:, j].numpy(), "norm").statistic < 0.03
    assert mapped.std(0).sub(1).abs().max() < 0.05


def test_empirical_law_is_monotone_and_inverse():
    law = EmpiricalLaw(torch.tensor([[0.0, 5.0], [1.0, 7.0], [3.0, 6.0]]))
    y = torch.tensor([[-1.0, 4.0], [0.5, 6.5], [9.0, 9.0]])
    u = law.cdf(y)
    assert np.allclose(u[0], 1 / 6) and np.allclose(u[2], 5 / 6) and np.allclose(u[1], [1 / 3, 2 / 3])
    assert np.allclose(law.quantile(u), [[0.0, 5.0], [0.5, 6.5], [3.0, 7.0]])
    s = operation_samples(torch.tensor([[1.0], [3.0]]), (0.5, 0.5), 1000)
    assert set(np.unique(s.numpy())) <= {1.0, 2.0, 3.0}
    with pytest.raises(ValueError):
        EmpiricalLaw(torch.zeros(1, 2))
    with pytest.raises(ValueError):
        law.cdf(torch.zeros(2, 3))


def test_encoded_sets_decode_the_endpoints_and_every_midpoint():
    from otlatent import encoded

    codes = torch.randn(10, 3, generator=torch.Generator().manual_seed(7))
    ends = np.array([[0, 1, 2], [3, 4, 5]])
    decode = lambda z: torch.tanh(z[:, :1, None, None].expand(-1, 1, 2, 2))  # noqa: E731 - a toy decoder
    sets = encoded.encoded_sets(decode, codes, ends, "gaussian", centre=codes.mean(0), extra=lambda z: {"first": z[0]})
    assert list(sets) == [
        encoded.RECON,
        encoded.OTHER,
        "2-point linear",
        "2-point slerp",
        "2-point matched",
        "2-point centred matched",
        "2-point first",
    ]
    np.testing.assert_array_equal(sets[encoded.RECON], sets["2-point first"])
    expected = ((torch.tanh(0.5 * (codes[:3, 0] + codes[3:6, 0])) + 1) * 127.5).round().to(torch.uint8)
    assert torch.equal(torch.as_tensor(sets["2-point linear"])[:, 0, 0, 0], expected)


def test_table2_values_scores_every_set_once():
    from otlatent import explore

    seen = []

    def scores_of(u8):
        seen.append(u8.shape)
        return {"mean": float(np.asarray(u8, dtype=float).mean())}

    rows = explore.table2_values(lambda z: torch.tanh(z[:, :3, None, None]), scores_of, "gaussian", 20, 4, 3, seed=0)
    names = [(r["set"], r["draw"]) for r in rows]
    assert len(seen) == 3 + len(explore.MIDPOINT_SETS) == len(rows) and len(set(names)) == len(names)
    assert {r["set"] for r in rows} == {"random samples", *explore.MIDPOINT_SETS}


def test_mmd_permutation_statistic_is_the_training_estimate():
    gen = torch.Generator().manual_seed(8)
    x, y = (
        torch.randn(30, 3, generator=gen, dtype=torch.float64),
        torch.randn(40, 3, generator=gen, dtype=torch.float64),
    )
    out = imq_mmd_test(x, y + 0.3, n_perm=20)
    assert out["mmd2"] == pytest.approx(float(imq_mmd2(x, y + 0.3)), rel=1e-10)
    pooled = torch.cat([x, y + 0.3])
    rng = np.random.default_rng(0)
    first = torch.from_numpy(rng.permutation(70) < 30)  # the first relabelling: a random 30 of the 70
    assert out["null"][0] == pytest.approx(float(imq_mmd2(pooled[first], pooled[~first])), rel=1e-10)
