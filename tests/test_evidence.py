"""The replicated-evidence statistics (otlatent.metrics.equivalence) and the calibration ladder
(otlatent.metrics.calibration), against closed forms, Monte Carlo estimates and real images."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from otlatent import data, metrics
from otlatent.metrics import calibration


def _design(rng, shift_pct=0.0, sigma_pct=2.0, tau_pct=0.0, replicates=3, draws=5, base=10.0, model_sd=0.1, ops=None):
    """Scored sets of a replicated design: every set's value is its model's level times (1 + noise); each operation
    (``ops``: name -> shift %, default ``{"op": shift_pct}``) is shifted by its % (plus a per-model effect of SD
    ``tau_pct``)."""
    ops = {"op": shift_pct} if ops is None else ops
    rows = []
    for r in range(replicates):
        level = base * (1 + model_sd * rng.normal())
        for k in range(draws):
            value = level * (1 + sigma_pct / 100 * rng.normal())
            rows.append(dict(replicate=r, set="random samples", draw=k, score="S", value=value))
        for name, shift in ops.items():
            effect = shift + tau_pct * rng.normal()
            value = level * (1 + effect / 100) * (1 + sigma_pct / 100 * rng.normal())
            rows.append(dict(replicate=r, set=name, draw=0, score="S", value=value))
    return pd.DataFrame(rows)


def test_set_noise_recovers_the_simulated_spread():
    rng = np.random.default_rng(0)
    values = pd.concat([_design(rng).assign(replicate=lambda d, i=i: d.replicate + 10 * i) for i in range(40)])
    noise = metrics.set_noise(values)
    assert noise.loc["S", "df"] == 120 * 4
    assert noise.loc["S", "sigma_pct"] == pytest.approx(2.0, rel=0.08)


def test_set_noise_reads_only_the_baseline_rows():
    rng = np.random.default_rng(1)
    values = _design(rng)
    moved = values.copy()
    moved.loc[moved.set == "op", "value"] *= 50
    pd.testing.assert_frame_equal(metrics.set_noise(values), metrics.set_noise(moved))


def test_set_noise_needs_two_draws():
    values = _design(np.random.default_rng(2), draws=1)
    with pytest.raises(ValueError, match="at least 2 draws"):
        metrics.set_noise(values)


def test_random_effects_closed_forms():
    # equal estimates: no heterogeneity, the inverse-variance mean
    re = metrics.random_effects([1.0, 1.0, 1.0], [1.0, 2.0, 2.0])
    assert re["tau2"] == 0 and re["estimate"] == pytest.approx(1.0)
    assert re["se"] == pytest.approx(np.sqrt(1 / (1 + 0.25 + 0.25)))
    # two studies, se 1 each, estimates 0 and 4: Q = 8, tau2 = (8 - 1) / (2 - 1) = 7
    re = metrics.random_effects([0.0, 4.0], [1.0, 1.0])
    assert re["q"] == pytest.approx(8.0) and re["tau2"] == pytest.approx(7.0)
    assert re["estimate"] == pytest.approx(2.0) and re["se"] == pytest.approx(np.sqrt(8 / 2))
    assert re["df"] == 1
    # Hartung-Knapp: three estimates spread far more than their SEs allow -> the empirical spread sets the SE
    re = metrics.random_effects([0.0, 1.0, 2.0], [0.01, 0.01, 0.01])
    assert re["se"] == pytest.approx(np.sqrt(1 / 3), rel=1e-3) and re["df"] == 2


def test_random_effects_covers_the_truth_monte_carlo():
    rng = np.random.default_rng(3)
    hits = 0
    trials = 2000
    for _ in range(trials):
        se = rng.uniform(0.5, 1.5, 30)
        x = 1.0 + rng.normal(0, 0.8, 30) + rng.normal(0, se)
        re = metrics.random_effects(x, se)
        hits += abs(re["estimate"] - 1.0) < 1.96 * re["se"]
    assert 0.92 < hits / trials < 0.97


def test_tost_is_the_90_percent_interval_inside_the_margin():
    rng = np.random.default_rng(4)
    for _ in range(200):
        x, se, m = rng.normal(0, 2), rng.uniform(0.2, 2), rng.uniform(0.5, 4)
        lo, hi = stats.norm.interval(0.90, loc=x, scale=se)
        assert (metrics.tost_p(x, se, m) < 0.05) == (-m < lo and hi < m)


def test_equivalence_power_matches_monte_carlo():
    rng = np.random.default_rng(5)
    for true, se, m in [(0.0, 1.0, 3.0), (1.0, 0.8, 2.5), (2.0, 1.0, 2.0)]:
        x = rng.normal(true, se, 40_000)
        mc = np.mean([metrics.tost_p(v, se, m) < 0.05 for v in x[:4000]])
        assert metrics.equivalence_power(true, se, m) == pytest.approx(mc, abs=0.025)


def _verdicts(shift_pct, trials, seed, margins=None):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(trials):
        ev = metrics.evidence(
            _design(rng, shift_pct), {"S": "higher"}, tested_worse=["op"], tested_equivalent=["op"], margins=margins
        )
        out.append(ev.set_index("set").loc["op", "verdict"])
    return pd.Series(out)


def test_known_equal_sets_are_declared_equivalent_at_the_stated_power():
    """R = 3 replicates, K = 5 draws, margin 3 sigma: evidence() declares an exact null equivalent at the power that
    simulated_power states for the design (0.74: with three models the between-model spread is known on 2 df), and
    rarely calls it worse or better."""
    stated = metrics.simulated_power(3, 5)
    assert stated == pytest.approx(0.74, abs=0.02)
    verdicts = _verdicts(0.0, 300, seed=6)
    assert verdicts.str.contains("; equivalent").mean() == pytest.approx(stated, abs=3 * np.sqrt(0.25 / 300))
    assert verdicts.str.startswith(("worse", "better")).mean() < 0.10 + 2 * np.sqrt(0.1 * 0.9 / 300)


def test_simulated_power_matches_the_closed_form_with_many_replicates():
    """With many replicates the set noise and the between-model spread are well known: the simulated power
    approaches the closed form of equivalence_power for a known standard error."""
    se = np.sqrt((1 + 1 / 5) / 40)
    closed = metrics.equivalence_power(1.0, se, metrics.MARGIN_SD, df=39)
    assert metrics.simulated_power(40, 5, true_change_sd=1.0, n_sim=4000) == pytest.approx(closed, abs=0.03)


def test_worse_test_keeps_its_size_under_heterogeneity():
    """No average change, but each replicate model has its own effect (SD 2 sigma): "worse in every replicate" is
    rarely claimed (an intersection-union test is valid whatever the spread between models; a random-effects test
    of the mean with the set noise's df, DerSimonian-Laird, would reject about 9 % of the time)."""
    rng = np.random.default_rng(14)
    rejected = []
    for _ in range(400):
        ev = metrics.evidence(
            _design(rng, 0.0, tau_pct=4.0), {"S": "higher"}, tested_worse=["op"], tested_equivalent=[]
        ).set_index("set")
        rejected.append(ev.loc["op", "p_worse"] < 0.05)
    assert np.mean(rejected) <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 400)


def test_known_different_sets_are_not_declared_equivalent_and_are_worse():
    """A shift of twice the margin (12 %) is never equivalent and almost always worse."""
    verdicts = _verdicts(12.0, 200, seed=7)
    assert not verdicts.str.contains("; equivalent").any()
    assert verdicts.str.startswith("worse").mean() > 0.95


def test_a_shift_at_the_margin_is_rarely_called_equivalent():
    """With the margin fixed at 6 % and a true change of 6 %, a level-0.05 equivalence test declares equivalence at
    most 5 % of the time (the size of the test; with a margin of 3 estimated sigma the margin itself is random)."""
    verdicts = _verdicts(6.0, 300, seed=8, margins={"S": 6.0})
    assert verdicts.str.contains("; equivalent").mean() <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 300)


def test_null_control_false_positive_rate_is_nominal_with_few_degrees_of_freedom():
    """At the study's design (R = 3, K = 5: 12 df) the leave-one-out control is exactly t with 11 df: its rate is the
    nominal 5 % (an internally studentised version, sigma including the tested draw, gives about 2 %)."""
    rng = np.random.default_rng(9)
    rates = [metrics.false_positive_rate(_design(rng)).rate.iloc[0] for _ in range(300)]
    assert metrics.false_positive_rate(_design(rng)).tests.iloc[0] == 15
    assert np.mean(rates) == pytest.approx(0.05, abs=0.012)


def test_holm_family_and_better_direction():
    rng = np.random.default_rng(10)
    # one design, two operations on the same models: an improvement of 15 % (lower is better here) and a null
    values = _design(rng, ops={"op": -15.0, "op2": 0.0})
    ev = metrics.evidence(values, {"S": "higher"}, tested_worse=["op", "op2"], tested_equivalent=[]).set_index("set")
    assert ev.loc["op", "verdict"] == "better"
    assert ev.loc["op2", "verdict"] == "not shown worse"
    family = ev.loc[["op", "op2"]]
    both = metrics.holm(np.concatenate([family.p_worse, family.p_better]))  # both directions in one family
    np.testing.assert_allclose(np.concatenate([family.p_holm, family.p_better_holm]), both)
    assert np.isnan(ev.loc[metrics.RANDOM_VS_RANDOM, "p_holm"])


def test_baselines_near_zero_get_no_test():
    """A KID-like score whose random-sample value sits at zero: no relative change is computed against it."""
    rng = np.random.default_rng(15)
    values = _design(rng, base=0.001, sigma_pct=2000.0)
    ev = metrics.evidence(values, {"S": "higher"}, tested_worse=["op"], tested_equivalent=["op"])
    assert ev.verdict.str.startswith("no test").all()


def test_verdict_table_has_the_rows_of_the_design():
    rng = np.random.default_rng(11)
    values = pd.concat(
        [_design(rng), pd.DataFrame([dict(replicate=-1, set="real data", draw=0, score="S", value=9.0)])]
    )
    generated = values[values.set != "real data"]
    ev = metrics.evidence(generated, {"S": "higher"}, tested_worse=[], tested_equivalent=["op"])
    table = metrics.verdict_table(ev, values, ["op"], ["S"])
    assert list(table.index) == ["real data", "random samples", metrics.RANDOM_VS_RANDOM, "op"]
    assert table.loc["real data", "S"] == "9"


def test_set_scores_use_all_samples():
    rng = np.random.default_rng(12)
    feats = {"pool": torch.from_numpy(rng.normal(size=(600, 8))), "logits": torch.from_numpy(rng.normal(size=(600, 4)))}
    ref = {"pool": torch.from_numpy(rng.normal(0.3, 1, size=(300, 8)))}
    images = torch.from_numpy(rng.integers(0, 256, (600, 3, 8, 8), dtype=np.uint8))
    out = metrics.set_scores(feats, images, ref, splits=3)
    assert out["KID"] == pytest.approx(metrics.mmd2_unbiased(feats["pool"], ref["pool"]))
    assert out["FID"] == pytest.approx(metrics.frechet_distance(feats["pool"], ref["pool"]), rel=1e-6)
    assert out["FID mean"] + out["FID covariance"] == pytest.approx(out["FID"])
    assert out["FID mean"] == pytest.approx(float(((feats["pool"].mean(0) - ref["pool"].mean(0)) ** 2).sum()))
    assert out["sharpness"] == pytest.approx(metrics.image_statistics(images).sharpness.mean())


def test_kid_permutation_test_uses_every_sample_by_default():
    rng = np.random.default_rng(13)
    ref, a, b = (torch.from_numpy(rng.normal(size=(n, 4))) for n in (300, 2500, 2600))
    out = metrics.kid_permutation_test(ref, a, b, n_perm=2)
    full = metrics.mmd2_unbiased(b, ref) - metrics.mmd2_unbiased(a, ref)
    assert out["diff"] == pytest.approx(full, rel=1e-9, abs=1e-12)


# -- the calibration ladder ------------------------------------------------------------------------------------------


def test_degrade_closed_forms():
    x = torch.full((2, 3, 8, 8), 100, dtype=torch.uint8)
    assert torch.equal(calibration.degrade(x, "blur", 1.0), x)  # a constant image is unchanged by blur
    grey = torch.arange(64, dtype=torch.uint8).reshape(1, 1, 8, 8).expand(1, 3, 8, 8).contiguous()
    assert torch.equal(calibration.degrade(grey, "desaturate", 0.0), grey)  # grey has nothing to desaturate
    with pytest.raises(ValueError, match="unknown degradation"):
        calibration.degrade(x, "sharpen", 1.0)
    with pytest.raises(ValueError, match="colour"):
        calibration.degrade(x[:, :1], "desaturate", 0.5)


def _real_images(name, n=300):
    if not data.available(name):
        pytest.skip(f"{name} is not under the data root ({data.data_root()}): run `make data`")
    return data.load(name, 32, n=n, seed=0).images_u8


@pytest.mark.parametrize("name", ["lfw", "mnist"])
def test_ladder_is_ranked_by_the_image_statistics_on_real_images(name):
    x = _real_images(name)
    ladder = calibration.degradation_ladder(x)
    rows = [
        dict(kind=k, level=lv, score=s, value=v)
        for (k, lv), imgs in ladder.items()
        for s, v in metrics.image_statistics(imgs).mean().items()
        if np.isfinite(v)
    ]
    sens = metrics.sensitivity(pd.DataFrame(rows), metrics.WORSE).set_index(["score", "kind"])
    assert sens.loc[("sharpness", "blur"), "monotone"] and sens.loc[("sharpness", "blend"), "monotone"]
    assert sens.loc[("contrast", "contrast"), "monotone"]
    assert not sens.loc[("sharpness", "noise"), "monotone"]  # noise adds high frequencies: sharper, not blurrier
    if name == "lfw":
        assert sens.loc[("saturation", "desaturate"), "monotone"]


def test_ladder_is_ranked_by_fid_on_real_images():
    """FID in a fixed feature space (4x4 average-pooled pixels) between one half of real faces, degraded, and the
    other half grows with every level of contrast loss and with blur from sigma = 1 on. The space is blind to
    blur 0.5 (its pooling removes that detail itself): the ladder shows that, and ``sensitivity`` says so."""
    x = _real_images("lfw", 600)
    ref, half = x[:300], x[300:]

    def pooled(u8):
        return torch.nn.functional.avg_pool2d(torch.as_tensor(u8).double() / 255, 4).flatten(1)

    rows = [
        dict(kind=k, level=lv, score="FID", value=metrics.frechet_distance(pooled(imgs), pooled(ref)))
        for (k, lv), imgs in calibration.degradation_ladder(half, kinds=["blur", "contrast"]).items()
    ]
    base = rows[0]["value"]  # the undegraded half
    sens = metrics.sensitivity(pd.DataFrame(rows), metrics.WORSE, margins={"FID": 0.05 * base}).set_index("kind")
    assert sens.loc["contrast", "monotone"] and sens.loc["contrast", "sensitive"]
    blur = np.asarray(sens.loc["blur", "changes_pct"])
    assert abs(blur[0]) < 5 and np.all(np.diff(blur[1:]) > 0) and blur[-1] > 20
    assert sens.loc["blur", "detects"] > 0.5 and not sens.loc["blur", "monotone"]
