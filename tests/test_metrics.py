"""Sample-quality scores against independent references: torch-fidelity's own functions, scipy, closed forms."""

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import scipy.stats
import torch
import torch_fidelity
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from otlatent import metrics
from otlatent.data import to_unit


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Any attempt to fetch weights from the network fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    monkeypatch.setattr(fe, "load_state_dict_from_url", refuse)


# --------------------------------------------------------------------------- inception score


@pytest.mark.parametrize("n, k, splits, shuffle", [(1000, 10, 10, True), (997, 7, 3, True), (500, 1008, 10, False)])
def test_inception_score_matches_torch_fidelity(n, k, splits, shuffle):
    logits = torch.randn(n, k, generator=torch.Generator().manual_seed(n)) * 3
    ours = metrics.inception_score(logits=logits, splits=splits, shuffle=shuffle)
    ref = isc_features_to_metric(logits, splits=splits, shuffle=shuffle, rng_seed=2020)
    np.testing.assert_allclose(ours["mean"], ref["inception_score_mean"], rtol=1e-12)
    np.testing.assert_allclose(ours["std"], ref["inception_score_std"], rtol=1e-9)
    assert len(ours["scores"]) == splits
    np.testing.assert_allclose(ours["scores"].std(ddof=0), ours["std"])


def test_inception_score_from_probs_equals_from_logits():
    logits = torch.randn(300, 5, generator=torch.Generator().manual_seed(1)).double()
    a = metrics.inception_score(logits=logits, splits=3)
    b = metrics.inception_score(probs=logits.softmax(1), splits=3)
    np.testing.assert_allclose(a["scores"], b["scores"], rtol=1e-12)


@pytest.mark.parametrize("k", [2, 10, 37])
def test_inception_score_closed_forms(k):
    # confident predictions spread evenly over k classes: KL = log k for every sample, IS = k exactly
    probs = torch.eye(k).repeat(6, 1)
    out = metrics.inception_score(probs=probs, splits=3, shuffle=False)
    np.testing.assert_allclose(out["scores"], k, rtol=1e-12)
    # the same through logits: a margin of 50 leaves (k - 1) e^-50 of mass off the class
    out = metrics.inception_score(logits=50 * probs, splits=3, shuffle=False)
    np.testing.assert_allclose(out["scores"], k, rtol=1e-12 + 100 * k * np.exp(-50))
    # identical predictions: p(y|x) = p(y), KL = 0, IS = 1 whatever the distribution
    p = torch.rand(k, generator=torch.Generator().manual_seed(k)).double()
    same = (p / p.sum()).repeat(60, 1)
    np.testing.assert_allclose(metrics.inception_score(probs=same, splits=4)["scores"], 1.0, rtol=1e-12)


def test_inception_score_two_classes_half_confident():
    # half the samples certain of class 0, half uniform over {0, 1}: p(y) = (3/4, 1/4),
    # E KL = 1/2 log(4/3) + 1/2 [1/2 log(2/3) + 1/2 log(2)]
    probs = torch.tensor([[1.0, 0.0], [0.5, 0.5]]).repeat(50, 1)
    expected = np.exp(0.5 * np.log(4 / 3) + 0.25 * np.log(2 / 3) + 0.25 * np.log(2))
    np.testing.assert_allclose(metrics.inception_score(probs=probs, splits=1)["mean"], expected, rtol=1e-12)


def test_inception_score_rejects_bad_input():
    with pytest.raises(ValueError, match="exactly one"):
        metrics.inception_score()
    with pytest.raises(ValueError, match="splits"):
        metrics.inception_score(logits=torch.zeros(3, 4), splits=10)
    with pytest.raises(ValueError, match="summing to 1"):
        metrics.inception_score(probs=torch.ones(20, 4), splits=2)


# --------------------------------------------------------------------------- the literature's IS: weights and plumbing


def test_inception_status_without_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("OTLATENT_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("OTLATENT_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.delenv("OTLATENT_ALLOW_DOWNLOAD", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    status = metrics.inception_status()
    assert not status["available"] and status["weights_path"] is None
    assert metrics.INCEPTION_WEIGHTS_FILE in status["reason"] and "OTLATENT_INCEPTION_WEIGHTS" in status["reason"]
    assert metrics.inception_status(allow_download=True)["download"] is True
    monkeypatch.setenv("OTLATENT_ALLOW_DOWNLOAD", "1")
    assert metrics.inception_status()["available"]


@pytest.mark.parametrize("where", ["env", "data_root", "hub"])
def test_inception_status_finds_local_weights(tmp_path, monkeypatch, where):
    monkeypatch.setenv("OTLATENT_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("OTLATENT_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    path = {
        "env": tmp_path / "w.pth",
        "data_root": tmp_path / "data" / "weights" / metrics.INCEPTION_WEIGHTS_FILE,
        "hub": tmp_path / "hub" / "checkpoints" / metrics.INCEPTION_WEIGHTS_FILE,
    }[where]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    if where == "env":
        monkeypatch.setenv("OTLATENT_INCEPTION_WEIGHTS", str(path))
    status = metrics.inception_status(allow_download=False)
    assert status["available"] and status["weights_path"] == path and not status["download"]


class StandIn(FeatureExtractorBase):
    """A fixed random projection of uint8 images to 12 'logits' and 6 'pool' features (no weights to fetch)."""

    def __init__(self, name, features_list, **kwargs):
        super().__init__(name, features_list)
        g = torch.Generator().manual_seed(5)
        self.w_logits = torch.randn(3 * 8 * 8, 12, generator=g) / 20
        self.w_pool = torch.randn(3 * 8 * 8, 6, generator=g) / 20

    @staticmethod
    def get_provided_features_list():
        return ("pool", "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits", "fid": "pool", "kid": "pool"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return None

    def features(self, x):
        x = x.float().flatten(1) / 255
        return {"pool": x @ self.w_pool, "logits": x @ self.w_logits}

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.shape[1:] == (3, 8, 8)
        f = self.features(x)
        return tuple(f[k] for k in self.features_list)


@pytest.fixture(scope="module")
def stand_in():
    if "test-stand-in" not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor("test-stand-in", StandIn)
    return StandIn("test-stand-in", ["pool", "logits"])


def test_fidelity_metrics_with_a_stand_in_extractor(stand_in):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (240, 3, 8, 8), dtype=torch.uint8, generator=g)
    reference = torch.randint(0, 200, (180, 3, 8, 8), dtype=torch.uint8, generator=g)
    out = metrics.fidelity_metrics(
        images,
        reference,
        feature_extractor="test-stand-in",
        isc=True,
        fid=True,
        kid=True,
        splits=4,
        kid_subsets=5,
        kid_subset_size=100,
        batch_size=64,
    )
    f, r = stand_in.features(images), stand_in.features(reference)
    isc = metrics.inception_score(logits=f["logits"], splits=4)
    np.testing.assert_allclose(out["inception_score_mean"], isc["mean"], rtol=1e-5)
    np.testing.assert_allclose(out["inception_score_std"], isc["std"], rtol=1e-4)
    np.testing.assert_allclose(
        out["frechet_inception_distance"], metrics.frechet_distance(f["pool"], r["pool"]), rtol=1e-4
    )
    kid = metrics.kernel_distance(f["pool"], r["pool"], subsets=5, subset_size=100)
    np.testing.assert_allclose(out["kernel_inception_distance_mean"], kid["mean"], rtol=1e-4, atol=1e-9)


def test_fidelity_metrics_defaults_are_the_literature_protocol(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(torch_fidelity, "calculate_metrics", lambda **kw: seen.update(kw) or {})
    grey = torch.randint(0, 256, (20, 1, 16, 16), dtype=torch.uint8)
    metrics.fidelity_metrics(grey, weights_path=tmp_path / "w.pth")
    assert seen["feature_extractor"] == "inception-v3-compat" and seen["feature_layer_isc"] == "logits_unbiased"
    assert seen["isc_splits"] == 10 and seen["isc"] and not seen["fid"] and not seen["cache"]
    assert seen["feature_extractor_weights_path"] == str(tmp_path / "w.pth")
    first = seen["input1"][0]
    assert first.dtype == torch.uint8 and first.shape == (3, 16, 16)  # grey repeated to RGB for Inception
    assert torch.equal(first[0], grey[0, 0]) and torch.equal(first[2], grey[0, 0])
    with pytest.raises(ValueError, match="reference"):
        metrics.fidelity_metrics(grey, fid=True, weights_path=tmp_path / "w.pth")


# --------------------------------------------------------------------------- FID and KID


def test_frechet_distance_against_scipy_sqrtm():
    g = np.random.default_rng(0)
    a = g.normal(size=(400, 5)) @ g.normal(size=(5, 5))
    b = g.normal(size=(300, 5)) * 1.5 + 0.3
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = (
        np.sum((a.mean(0) - b.mean(0)) ** 2)
        + np.trace(s1)
        + np.trace(s2)
        - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    )
    np.testing.assert_allclose(metrics.frechet_distance(a, b), expected, rtol=1e-8)
    assert abs(metrics.frechet_distance(a, a)) < 1e-8
    np.testing.assert_allclose(metrics.distances.fid_from_stats(a.mean(0), s1, b.mean(0), s2), expected, rtol=1e-8)
    mu, cov = metrics.distances.moments(torch.as_tensor(a))
    np.testing.assert_allclose(cov.numpy(), s1, rtol=1e-10)
    np.testing.assert_allclose(mu.numpy(), a.mean(0), rtol=1e-12)


def _mmd2_loops(x, y):
    """Unbiased MMD^2 with k(u, v) = (u.v / d + 1)^3, written out with explicit sums."""
    d = x.shape[1]
    k = lambda u, v: (u @ v.T / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return (
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * k(x, y).sum() / (m * n)
    )


def test_kernel_distance_and_mmd_against_explicit_sums():
    g = np.random.default_rng(1)
    x, y = g.normal(size=(60, 4)), g.normal(size=(60, 4)) + 0.5
    expected = _mmd2_loops(x, y)
    np.testing.assert_allclose(metrics.mmd2_unbiased(x, y), expected, rtol=1e-10)
    # one subset holding all samples (drawn without replacement) is the full-set estimate
    out = metrics.kernel_distance(x, y, subsets=3, subset_size=60)
    np.testing.assert_allclose(out["mean"], expected, rtol=1e-10)
    assert out["std"] < 1e-12 * max(1.0, abs(expected))


def test_kid_permutation_test_observed_difference_and_power():
    g = np.random.default_rng(2)
    ref, a = g.normal(size=(80, 3)), g.normal(size=(50, 3))
    b = g.normal(size=(40, 3)) + 1.0
    out = metrics.kid_permutation_test(ref, a, b, n_perm=99, seed=0)
    np.testing.assert_allclose(out["diff"], _mmd2_loops(b, ref) - _mmd2_loops(a, ref), rtol=1e-9)
    assert out["p"] == pytest.approx(1 / 100)  # a shift of one standard deviation beats every relabelling
    # each relabelling's statistic is the same difference for the relabelled sets
    null_again = metrics.permutation_test(
        torch.as_tensor(a), torch.as_tensor(b), lambda s: metrics.mmd2_unbiased(s, ref), n_perm=5, seed=3
    )
    assert len(null_again["null"]) == 5
    np.testing.assert_allclose(null_again["diff"], out["diff"], rtol=1e-9)


# --------------------------------------------------------------------------- resampling


def test_permutation_test_against_scipy_exact():
    x = np.array([1.1, 2.3, 0.4, 1.9, 2.8, 1.5])
    y = np.array([2.0, 3.1, 2.7, 1.2, 3.9, 2.6])
    exact = scipy.stats.permutation_test(
        (x, y), lambda a, b: np.mean(b) - np.mean(a), n_resamples=np.inf, alternative="two-sided"
    ).pvalue
    n_perm = 4000
    ours = metrics.permutation_test(x, y, lambda s: float(s.mean()), n_perm=n_perm, seed=0)
    assert ours["diff"] == pytest.approx(y.mean() - x.mean())
    se = np.sqrt(exact * (1 - exact) / n_perm)  # Monte Carlo error of a p-value from n_perm relabellings
    assert abs(ours["p"] - exact) < 4 * se + 1 / n_perm


def test_bootstrap_ci_against_scipy():
    x = np.random.default_rng(4).exponential(size=400)
    ours = metrics.bootstrap_ci(x, lambda s: float(s.mean()), n_boot=2000, seed=1)
    ref = scipy.stats.bootstrap(
        (x,), np.mean, n_resamples=2000, method="percentile", confidence_level=0.95, random_state=2
    ).confidence_interval
    # each 2.5%/97.5% quantile of 2000 resampled means has Monte Carlo sd about 0.06 standard errors of the
    # mean (sqrt(q(1 - q) / B) / phi(1.96)); the two intervals differ by less than 4 x sqrt(2) x that
    sem = x.std(ddof=1) / np.sqrt(len(x))
    assert abs(ours[0] - ref.low) < 0.34 * sem and abs(ours[1] - ref.high) < 0.34 * sem


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, 0.005, np.nan]
    # sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 -> max(0.04, 0.06) = 0.06
    np.testing.assert_allclose(metrics.holm(p), [0.03, 0.06, 0.06, 0.02, np.nan])
    np.testing.assert_allclose(metrics.holm([0.5, 0.9]), [1.0, 1.0])


# --------------------------------------------------------------------------- tables


def test_score_sets_table():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(10, 8, generator=g) * 3

    def fake(n, noise, margin=4.0, shift=0.0):
        y = torch.randint(0, 10, (n,), generator=g)
        pool = centres[y] + noise * torch.randn(n, 8, generator=g) + shift
        logits = margin * torch.nn.functional.one_hot(y, 10).double() + torch.randn(n, 10, generator=g)
        return {"pool": pool, "logits": logits}

    # "worse": less confident predictions (lower IS), features off the reference (higher FID and KID)
    sets = {"random": fake(400, 1.0), "same": fake(400, 1.0), "worse": fake(400, 3.0, margin=1.5, shift=1.0)}
    t = metrics.score_sets(sets, fake(400, 1.0), splits=4, n_boot=60, kid_subset_size=200)
    assert set(t.score) == {"IS", "FID", "KID"} and len(t) == 9
    base = t[t.set == "random"]
    assert base.p_value.isna().all() and (base.rel_change_pct.abs() < 1e-9).all()
    worse = t[t.set == "worse"].set_index("score")
    assert (worse.p_value == 1 / 61).all()  # every relabelling is less extreme than the real split
    assert worse.loc["IS", "value"] < base.set_index("score").loc["IS", "value"]
    assert worse.loc["FID", "value"] > base.set_index("score").loc["FID", "value"]
    for score in ("IS", "FID"):
        row = t[(t.set == "random") & (t.score == score)].iloc[0]
        assert row.ci_low <= row.value <= row.ci_high or score == "FID"  # FID's bootstrap is biased upwards
    isc = metrics.inception_score(logits=sets["worse"]["logits"], splits=4)
    assert worse.loc["IS", "value"] == pytest.approx(isc["mean"]) and worse.loc["IS", "std"] == pytest.approx(
        isc["std"]
    )


def test_compare_statistics_detects_blur():
    g = torch.Generator().manual_seed(0)
    sharp = torch.rand(80, 3, 16, 16, generator=g) * 2 - 1
    other = torch.rand(80, 3, 16, 16, generator=g) * 2 - 1
    blurred = torch.nn.functional.avg_pool2d(other, 3, 1, 1)
    t = metrics.compare_statistics({"random": sharp, "same": other, "blurred": blurred})
    assert set(t.score) == {"saturation", "contrast", "sharpness"}
    s = t[t.score == "sharpness"].set_index("set")
    stats = {n: metrics.image_statistics(x)["sharpness"] for n, x in [("random", sharp), ("blurred", blurred)]}
    assert s.loc["blurred", "p_value"] == pytest.approx(
        scipy.stats.mannwhitneyu(stats["blurred"], stats["random"]).pvalue
    )
    assert s.loc["blurred", "rel_change_pct"] < -50 and s.loc["blurred", "p_value"] < 1e-10
    grey = metrics.compare_statistics({"a": sharp[:, :1], "b": other[:, :1]})
    assert "saturation" not in set(grey.score)


def _long():
    import pandas as pd

    return pd.DataFrame(
        [
            dict(
                set="random",
                score="IS",
                value=3.0,
                std=0.1,
                ci_low=2.9,
                ci_high=3.1,
                rel_change_pct=0.0,
                p_value=np.nan,
                p_holm=np.nan,
            ),
            dict(
                set="lin",
                score="IS",
                value=2.4,
                std=0.1,
                ci_low=2.3,
                ci_high=2.5,
                rel_change_pct=-20.0,
                p_value=0.001,
                p_holm=0.002,
            ),
            dict(
                set="mat",
                score="IS",
                value=3.03,
                std=0.1,
                ci_low=2.9,
                ci_high=3.1,
                rel_change_pct=1.0,
                p_value=0.6,
                p_holm=0.6,
            ),
            dict(
                set="lin",
                score="FID",
                value=9.0,
                std=np.nan,
                ci_low=8.0,
                ci_high=10.0,
                rel_change_pct=-5.0,
                p_value=0.001,
                p_holm=0.002,
            ),
            dict(
                set="mat",
                score="FID",
                value=9.0,
                std=np.nan,
                ci_low=8.0,
                ci_high=10.0,
                rel_change_pct=30.0,
                p_value=0.03,
                p_holm=0.06,
            ),
        ]
    )


def test_paper_style_table_and_verdicts():
    t = metrics.paper_style_table(_long())
    assert t.loc["random", "IS"] == "3 ± 0.1" and t.loc["lin", "IS"] == "2.4 ± 0.1 (-20.0%*)"
    assert t.loc["mat", "IS"] == "3.03 ± 0.1 (+1.0%)" and t.loc["mat", "FID"] == "9 [8, 10] (+30.0%)"
    v = metrics.verdicts(_long(), matched=["mat"], linear=["lin"]).set_index(["set", "score"])
    assert v.loc[("lin", "IS"), "holds"]  # lower IS, Holm p < 0.05
    assert not v.loc[("lin", "FID"), "holds"]  # significant, but FID went down: better, not worse
    assert v.loc[("mat", "IS"), "holds"]
    assert not v.loc[("mat", "FID"), "holds"]  # unadjusted p = 0.03 < 0.05, although Holm's is 0.06


def test_kernel_distance_matches_torch_fidelity():
    from torch_fidelity.metric_kid import kid_features_to_metric

    g = torch.Generator().manual_seed(7)
    a, b = torch.randn(300, 6, generator=g), torch.randn(250, 6, generator=g) * 1.2 + 0.2
    ours = metrics.kernel_distance(a, b, subsets=20, subset_size=100, seed=11)
    ref = kid_features_to_metric(a, b, kid_subsets=20, kid_subset_size=100, rng_seed=11, verbose=False)
    np.testing.assert_allclose(ours["mean"], ref["kernel_inception_distance_mean"], rtol=1e-6)
    np.testing.assert_allclose(ours["std"], ref["kernel_inception_distance_std"], rtol=1e-6)


def test_split_mean_is_matches_inception_score():
    logits = torch.randn(103, 6, generator=torch.Generator().manual_seed(8)).double() * 2
    for n in (100, 103):  # divisible by the splits and not
        expected = metrics.inception_score(logits=logits[:n], splits=5, shuffle=False)["mean"]
        np.testing.assert_allclose(metrics.inception.split_mean_is(logits[:n].log_softmax(1), 5), expected, rtol=1e-12)


# --------------------------------------------------------------------------- reconstruction fidelity


def test_reconstruction_quality_closed_forms():
    g = torch.Generator().manual_seed(0)
    clean = torch.rand(5, 3, 24, 24, generator=g) * 2 - 1
    noisy = (clean + 0.1 * torch.randn(clean.shape, generator=g)).clamp(-1, 1)
    q = metrics.reconstruction_quality(clean, noisy)
    mse = ((noisy - clean) / 2).pow(2).flatten(1).mean(1).double().numpy()
    np.testing.assert_allclose(q["mse"], mse, rtol=1e-6)
    np.testing.assert_allclose(q["psnr"], 10 * np.log10(1 / mse), rtol=1e-6)
    assert (q["ssim"] < 1).all()
    assert (metrics.reconstruction_quality(clean, clean)["psnr"] == metrics.PSNR_CAP).all(), "capped, not infinite"
    assert metrics.PSNR_CAP == pytest.approx(54.15, abs=0.01)
    np.testing.assert_allclose(metrics.reconstruction_quality(clean, clean)["ssim"], 1.0, rtol=1e-6)
    # SSIM runs in float32: within 1e-5 of torchmetrics in float64 on textured images
    from torchmetrics.functional.image import structural_similarity_index_measure as ssim64

    ref = ssim64(to_unit(noisy).double(), to_unit(clean).double(), data_range=1.0, reduction="none").numpy()
    np.testing.assert_allclose(q["ssim"], ref, atol=1e-5)
    # constant images a, b: SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 L)^2 (structure and contrast terms = 1);
    # float32 cancellation in the local variances costs up to ~3e-4 relative on flat images
    a, b = 0.3, 0.7
    const = metrics.reconstruction_quality(torch.full((1, 1, 16, 16), 2 * a - 1), torch.full((1, 1, 16, 16), 2 * b - 1))
    c1 = 0.01**2
    assert const["ssim"][0] == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-3)
    more = metrics.reconstruction_quality(clean, (clean + 0.3 * torch.randn(clean.shape, generator=g)).clamp(-1, 1))
    assert (more["ssim"] < q["ssim"]).all() and (more["psnr"] < q["psnr"]).all()
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.reconstruction_quality(clean, clean[:, :1])


def test_mean_ci_table():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"method": np.repeat(["a", "b"], 400), "x": np.r_[rng.normal(0, 1, 400), rng.normal(3, 1, 400)]})
    t = metrics.mean_ci_table(df, "method", ["x"], n_boot=300)
    assert t.method.tolist() == ["a", "b"] and t.n.tolist() == [400, 400]
    np.testing.assert_allclose(t.x, df.groupby("method").x.mean().to_numpy())
    assert (t.x_lo < t.x).all() and (t.x < t.x_hi).all()
    half = (t.x_hi - t.x_lo) / 2  # ≈ 1.96 / sqrt(400) = 0.098
    np.testing.assert_allclose(half, 1.96 / 20, rtol=0.25)


def test_cluster_bootstrap_widens_the_interval_for_correlated_samples():
    # 40 clusters of 25 identical values: effectively 40 samples, not 1,000
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1, 40)
    x = np.repeat(centres, 25)
    groups = np.repeat(np.arange(40), 25)
    naive = metrics.bootstrap_ci(x, lambda v: float(v.mean()), 400, seed=0)
    clustered = metrics.bootstrap_ci(x, lambda v: float(v.mean()), 400, seed=0, groups=groups)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    # the clustered interval is that of 40 independent means: about 2 * 1.96 * sd / sqrt(40)
    assert width(clustered) == pytest.approx(2 * 1.96 * centres.std() / np.sqrt(40), rel=0.25)
    assert width(clustered) > 3 * width(naive)
    with pytest.raises(ValueError, match="group labels"):
        metrics.bootstrap_ci(x, np.mean, 10, groups=groups[:5])
