"""Latent operations and their matched versions (otlatent.operations, otlatent.matching)."""

import math

import numpy as np
import pytest
import scipy.stats as st
import torch
from hypothesis import given, settings
from hypothesis import strategies as hs

from otlatent import matching
from otlatent import operations as ops
from otlatent.priors import Gaussian, Iid, Uniform

PRIORS = {"gaussian": Gaussian(), "uniform": Uniform(), "laplace": Iid(st.laplace())}
N, D = 10_000, 100  # 10^6 components per test
EPS = 0.5


def _draw(prior, k, seed):
    return [prior.sample(N, D, seed=seed + i) for i in range(k)]


def _cases(prior, seed=0):
    """(name, linear y, matched y, pre-image of the last map) for every operation, 10^6 components each."""
    z1, z2, z3, z4 = _draw(prior, 4, seed)
    steps = np.stack(_draw(prior, 20, seed + 10))
    walk = ops.random_walk(z1, steps, EPS)
    mwalk = matching.matched_random_walk(z1, steps, EPS, prior)
    return [
        ("lerp t=0.5", ops.lerp(z1, z2, 0.5), matching.matched_lerp(z1, z2, 0.5, prior)),
        ("lerp t=0.25", ops.lerp(z1, z2, 0.25), matching.matched_lerp(z1, z2, 0.25, prior)),
        (
            "4-point",
            ops.n_point([z1, z2, z3, z4], [0.25] * 4),
            matching.matched_n_point([z1, z2, z3, z4], [0.25] * 4, prior),
        ),
        ("vicinity", ops.vicinity(z1, z2, EPS), matching.matched_vicinity(z1, z2, EPS, prior)),
        ("analogy", ops.analogy(z1, z2, z3), matching.matched_analogy(z1, z2, z3, prior)),
        ("random walk step 20", walk[-1], mwalk[-1]),
        ("matched walk step 20 pre-image", mwalk[-2] + EPS * steps[-1], mwalk[-1]),
    ]


@pytest.mark.parametrize("name", list(PRIORS))
def test_matched_operations_have_the_prior_law_and_linear_ones_do_not(name):
    prior = PRIORS[name]
    for op, linear, matched in _cases(prior):
        assert matched.shape == linear.shape == (N, D) and matched.dtype == np.float64
        if not op.startswith("matched walk"):
            p_lin = st.kstest(linear.ravel(), prior.cdf).pvalue
            assert p_lin < 1e-6, f"{name} {op}: linear result passes the KS test (p={p_lin:.3g})"
        p = st.kstest(matched.ravel(), prior.cdf).pvalue
        assert p > 0.01, f"{name} {op}: matched result fails the KS test (p={p:.3g})"


@pytest.mark.parametrize("name", list(PRIORS))
def test_matched_maps_are_monotone_in_y(name):
    prior = PRIORS[name]
    for op, linear, matched in _cases(prior, seed=100)[:5] + _cases(prior, seed=100)[6:]:
        y, m = linear.ravel(), matched.ravel()
        order = np.argsort(y, kind="stable")
        assert np.all(np.diff(m[order]) >= 0), f"{name} {op}: map not monotone"


# ---------------------------------------------------------------------------------------------- closed forms
def test_gaussian_matched_formulas_of_the_paper():
    g = Gaussian()
    z1, z2, z3 = (g.sample(7, 5, seed=i) for i in range(3))
    t = 0.3
    np.testing.assert_allclose(
        matching.matched_lerp(z1, z2, t, g), ((1 - t) * z1 + t * z2) / math.sqrt(t * t + (1 - t) ** 2)
    )
    np.testing.assert_allclose(
        matching.matched_n_point([z1, z2, z3], [0.2, 0.3, 0.5], g),
        (0.2 * z1 + 0.3 * z2 + 0.5 * z3) / math.sqrt(0.04 + 0.09 + 0.25),
    )
    np.testing.assert_allclose(matching.matched_vicinity(z1, z2, 0.5, g), (z1 + 0.5 * z2) / math.sqrt(1.25))
    np.testing.assert_allclose(matching.matched_analogy(z1, z2, z3, g), (z3 + z2 - z1) / math.sqrt(3))
    steps = np.stack([z2, z3])
    walk = matching.matched_random_walk(z1, steps, 0.5, g)
    np.testing.assert_allclose(walk[2], ((z1 + 0.5 * z2) / math.sqrt(1.25) + 0.5 * z3) / math.sqrt(1.25))


def test_uniform_midpoint_is_y_times_2_minus_abs_y():
    u = Uniform()
    z1, z2 = u.sample(50, 4, seed=1), u.sample(50, 4, seed=2)
    y = (z1 + z2) / 2
    np.testing.assert_allclose(matching.matched_lerp(z1, z2, 0.5, u), y * (2 - np.abs(y)), atol=1e-15)
    np.testing.assert_allclose(matching.matched_lerp(z1, z2, 0.5, "uniform"), y * (2 - np.abs(y)), atol=1e-15)


@pytest.mark.parametrize("name", list(PRIORS))
def test_endpoints_are_kept(name):
    prior = PRIORS[name]
    z1, z2 = prior.sample(20, 3, seed=1), prior.sample(20, 3, seed=2)
    np.testing.assert_allclose(matching.matched_lerp(z1, z2, 0.0, prior), z1, atol=1e-12)
    np.testing.assert_allclose(matching.matched_lerp(z1, z2, 1.0, prior), z2, atol=1e-12)
    np.testing.assert_allclose(matching.matched_vicinity(z1, z2, 0.0, prior), z1, atol=1e-12)


# ---------------------------------------------------------------------------------------------- lerp / slerp
def test_lerp_follows_torch_lerp_convention():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    torch.testing.assert_close(ops.lerp(a, b, 0.3), torch.lerp(a, b, 0.3))
    assert torch.equal(ops.lerp(a, b, 0.0), a) and torch.equal(ops.lerp(a, b, 1.0), b)
    # float32: the NumPy path computes (1-t) a + t b, torch.lerp a + t (b - a): equal to a few ulps
    np.testing.assert_allclose(ops.lerp(a.numpy(), b.numpy(), 0.3), torch.lerp(a, b, 0.3).numpy(), atol=1e-6)


def _white_slerp(val, low, high):
    """dribnet/plat's reference slerp (numpy, one vector)."""
    omega = np.arccos(np.clip(np.dot(low / np.linalg.norm(low), high / np.linalg.norm(high)), -1, 1))
    so = np.sin(omega)
    if so == 0:
        return (1.0 - val) * low + val * high
    return np.sin((1.0 - val) * omega) / so * low + np.sin(val * omega) / so * high


def test_slerp_matches_white_and_keeps_endpoints():
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((5, 8)), rng.standard_normal((5, 8))
    for t in (0.0, 0.3, 0.5, 1.0):
        ref = np.stack([_white_slerp(t, a, b) for a, b in zip(z1, z2)])
        np.testing.assert_allclose(ops.slerp(z1, z2, t), ref, atol=1e-12)
    np.testing.assert_allclose(ops.slerp(z1, z2, 0.0), z1, atol=1e-14)
    np.testing.assert_allclose(ops.slerp(z1, z2, 1.0), z2, atol=1e-14)


def test_slerp_degenerate_cases_fall_back_to_linear():
    z = np.array([[1.0, 2.0, 3.0]])
    for other in (2 * z, -z, np.zeros_like(z), z * (1 + 1e-12)):
        out = ops.slerp(z, other, 0.5)
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out, ops.lerp(z, other, 0.5), atol=1e-9)
    t32 = torch.tensor(z, dtype=torch.float32)
    assert torch.isfinite(ops.slerp(t32, t32, 0.5)).all()


@settings(max_examples=50, deadline=None)
@given(hs.integers(0, 10_000), hs.floats(0, 1), hs.floats(0.1, 10))
def test_slerp_keeps_the_norm_of_equal_norm_vectors(seed, t, r):
    rng = np.random.default_rng(seed)
    z1, z2 = rng.standard_normal(16), rng.standard_normal(16)
    z1, z2 = r * z1 / np.linalg.norm(z1), r * z2 / np.linalg.norm(z2)
    assert np.linalg.norm(ops.slerp(z1, z2, t)) == pytest.approx(r, rel=1e-9)


# ---------------------------------------------------------------------------------------------- contract
@pytest.mark.parametrize("prior", ["gaussian", "uniform", PRIORS["laplace"]], ids=str)
@pytest.mark.parametrize("kind", ["np32", "np64", "torch32", "torch64", "cuda"])
def test_type_dtype_device_and_batch_shape_are_kept(prior, kind):
    rng = np.random.default_rng(0)
    shape = (2, 3, 5)
    z = [rng.uniform(-1, 1, shape) for _ in range(4)]
    if kind.startswith("np"):
        z = [x.astype(np.float32 if kind == "np32" else np.float64) for x in z]
    else:
        if kind == "cuda" and not torch.cuda.is_available():
            pytest.skip("no CUDA device")
        dev = "cuda" if kind == "cuda" else "cpu"
        z = [torch.tensor(x, dtype=torch.float64 if kind == "torch64" else torch.float32, device=dev) for x in z]
    steps = np.stack(z[:3]) if kind.startswith("np") else torch.stack(z[:3])
    outs = [
        ops.lerp(z[0], z[1], 0.3),
        ops.slerp(z[0], z[1], 0.3),
        ops.n_point(z, [0.25] * 4),
        ops.vicinity(z[0], z[1], 0.5),
        ops.analogy(*z[:3]),
        matching.matched_lerp(z[0], z[1], 0.3, prior),
        matching.matched_n_point(z, [0.25] * 4, prior),
        matching.matched_vicinity(z[0], z[1], 0.5, prior),
        matching.matched_analogy(*z[:3], prior),
    ]
    for out in outs:
        assert type(out) is type(z[0]) and out.dtype == z[0].dtype and tuple(out.shape) == shape
        if not kind.startswith("np"):
            assert out.device == z[0].device
    for walk in (ops.random_walk(z[0], steps, 0.5), matching.matched_random_walk(z[0], steps, 0.5, prior)):
        assert type(walk) is type(z[0]) and walk.dtype == z[0].dtype and tuple(walk.shape) == (4, *shape)
    # numpy and torch give the same numbers
    if kind == "torch64":
        ref = matching.matched_n_point([x.numpy() for x in z], [0.25] * 4, prior)
        np.testing.assert_allclose(matching.matched_n_point(z, [0.25] * 4, prior).numpy(), ref, rtol=1e-12)


def test_float32_map_agrees_with_float64():
    u = Uniform()
    zs = np.stack([u.sample(1000, 100, seed=i) for i in range(4)])
    ref = matching.matched_n_point(zs, [0.25] * 4, u)
    out = matching.matched_n_point(torch.tensor(zs, dtype=torch.float32), [0.25] * 4, u)
    assert np.max(np.abs(out.numpy() - ref)) < 1e-6


def test_vicinity_broadcasts_k_samples_around_z():
    z = np.zeros((3, 4))
    u = np.ones((5, 3, 4))
    assert ops.vicinity(z, u, 0.1).shape == (5, 3, 4)
    assert matching.matched_vicinity(z, u, 0.1, "gaussian").shape == (5, 3, 4)


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda z: ops.n_point([z, z], [0.5, 0.6]), "sum to 1"),
        (lambda z: matching.matched_n_point([z, z], [0.3, 0.3], "gaussian"), "sum to 1"),
        (lambda z: ops.n_point([z, z], [1.5, -0.5]), "non-negative"),
        (lambda z: ops.n_point([z, z], [1.0]), "shape mismatch"),
        (lambda z: ops.lerp(z, z, 1.5), r"t must lie in \[0, 1\]"),
        (lambda z: ops.slerp(z, z, -0.1), r"t must lie in \[0, 1\]"),
        (lambda z: matching.matched_lerp(z, z, float("nan"), "uniform"), "finite"),
        (lambda z: ops.vicinity(z, z, -0.1), "eps must be >= 0"),
        (lambda z: matching.matched_random_walk(z, np.stack([z]), -1, "uniform"), "eps must be >= 0"),
        (lambda z: ops.lerp(z, z[:, :3], 0.5), "shape mismatch"),
        (lambda z: ops.analogy(z, z, z[:1]), "shape mismatch"),
        (lambda z: ops.vicinity(z, z[:, :2], 0.5), "shape mismatch"),
        (lambda z: ops.random_walk(z, z, 0.5), "shape mismatch"),
        (lambda z: matching.matched_lerp(z, z, 0.5, "cauchy"), "unknown prior 'cauchy'"),
        (lambda z: ops.lerp(z, torch.tensor(z), 0.5), "mix of NumPy arrays and torch tensors"),
        (lambda z: matching.match(z, [0.0, 0.0], "gaussian"), "non-zero"),
        (lambda z: ops.lerp(z, z, "half"), "real scalar"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    z = np.zeros((2, 4))
    with pytest.raises(ValueError, match=match):
        call(z)


# ---------------------------------------------------------------------------------------------- reference numbers
def test_norms_and_variances_of_the_reference_notes():
    """Reference section 9, d = 100, 2 * 10^4 pairs: tolerances are 5 standard errors of the means."""
    n, d = 20_000, 100
    for prior, var, slerp_sd in ((Gaussian(), 1.0, 9.99), (Uniform(), 1 / 3, 2.11)):
        z1, z2 = prior.sample(n, d, seed=1), prior.sample(n, d, seed=2)
        sq = {
            "prior": (z1**2).sum(1),
            "linear": (ops.lerp(z1, z2, 0.5) ** 2).sum(1),
            "slerp": (ops.slerp(z1, z2, 0.5) ** 2).sum(1),
            "matched": (matching.matched_lerp(z1, z2, 0.5, prior) ** 2).sum(1),
        }
        expected = {"prior": d * var, "linear": d * var / 2, "slerp": d * var, "matched": d * var}
        for key, v in sq.items():
            assert abs(v.mean() - expected[key]) < 5 * v.std() / math.sqrt(n), (prior, key, v.mean())
        assert sq["slerp"].std() == pytest.approx(slerp_sd, rel=0.05)
        assert sq["slerp"].std() < sq["prior"].std()  # SLERP: right first moment, wrong spread
