"""Priors and the laws of weighted sums (otlatent.priors, otlatent.matching, otlatent.mismatch): exact CDFs against
independent references."""

import math

import numpy as np
import pytest
import scipy.stats as st
import torch
from hypothesis import given, settings
from hypothesis import strategies as hs

from otlatent import matching, mismatch
from otlatent.priors import Gaussian, Iid, Uniform, get_prior

LAPLACE = Iid(st.laplace())
PRIORS = [Gaussian(), Uniform(), LAPLACE]


# ---------------------------------------------------------------------------------------------- priors
@pytest.mark.parametrize("prior", PRIORS, ids=repr)
def test_sample_shapes_seeds_and_types(prior):
    a, b = prior.sample(5, 3, seed=1), prior.sample(5, 3, seed=1)
    assert a.shape == (5, 3) and a.dtype == np.float64 and np.array_equal(a, b)
    t = prior.sample(4, 2, seed=2, device="cpu")
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape == (4, 2)
    assert torch.equal(t, prior.sample(4, 2, seed=2, device="cpu"))
    assert prior.sample(3, 2, seed=0, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("prior", PRIORS, ids=repr)
def test_cdf_ppf_roundtrip_and_type_contract(prior):
    u = np.linspace(0.001, 0.999, 101)
    np.testing.assert_allclose(prior.cdf(prior.ppf(u)), u, atol=1e-12)
    np.testing.assert_allclose(prior.sf(prior.isf(u)), u, atol=1e-12)
    for x in (np.float32(u), torch.tensor(u, dtype=torch.float32), torch.tensor(u, dtype=torch.float64)):
        out = prior.ppf(x)
        assert type(out) is type(x) and out.dtype == x.dtype


@pytest.mark.parametrize("prior", PRIORS, ids=repr)
def test_samples_follow_the_prior(prior):
    x = prior.sample(1000, 100, seed=3).ravel()
    assert st.kstest(x, prior.cdf).pvalue > 0.01
    assert abs(x.var() - prior.var) < 5 * prior.var * math.sqrt(2 / x.size) * 3


def test_get_prior_names_and_errors():
    assert get_prior("gaussian") == Gaussian() and get_prior("Normal") == Gaussian()
    assert get_prior("uniform") == Uniform(-1, 1)
    assert isinstance(get_prior(st.logistic()), Iid)
    with pytest.raises(ValueError, match="unknown prior 'cauchyish'.*'gaussian', 'uniform'"):
        get_prior("cauchyish")
    with pytest.raises(ValueError, match="continuous scipy.stats"):
        Iid(st.poisson(3))
    with pytest.raises(ValueError, match="low < high"):
        Uniform(1, 1)
    with pytest.raises(ValueError, match="sample size"):
        Gaussian().sample(-1, 3)


# ---------------------------------------------------------------------------------------------- uniform sums
U = Uniform()


def test_midpoint_map_is_y_times_2_minus_abs_y():
    y = np.linspace(-1, 1, 2001)
    np.testing.assert_allclose(matching.sum_law(U, (0.5, 0.5)).transport(y), y * (2 - np.abs(y)), atol=1e-15)


@pytest.mark.parametrize("t", [0.05, 0.25, 0.4])
def test_two_point_map_matches_the_trapezoid_formula(t):
    """Paper reference section 4: Y is trapezoidal; G(s) = P(0 <= Y <= s) in closed form."""
    a, b = min(t, 1 - t), max(t, 1 - t)
    s = np.linspace(0, 1, 1001)
    g = np.where(s <= b - a, s / (2 * b), (b - a) / (2 * b) + ((1 - (b - a)) ** 2 - (1 - s) ** 2) / (8 * a * b))
    law = matching.sum_law(U, (1 - t, t))
    np.testing.assert_allclose(law.cdf(s), 0.5 + g, atol=1e-14)
    np.testing.assert_allclose(law.cdf(-s), 0.5 - g, atol=1e-14)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 10])
def test_equal_weights_match_scipy_irwinhall(n):
    """The sum of n U[-1, 1] is 2 * IrwinHall(n) - n."""
    assert hasattr(st, "irwinhall"), "scipy >= 1.15 provides irwinhall"
    law = matching.sum_law(U, (1.0,) * n)
    w = np.linspace(-n, n, 2001)
    np.testing.assert_allclose(law.cdf(w), st.irwinhall(n).cdf((w + n) / 2), atol=1e-13)
    # the tail, relatively: P(W <= -n + x) = x^n / (2^n n!)
    x = np.array([1e-3, 1e-2, 0.1])
    np.testing.assert_allclose(law.cdf(-n + x), x**n / (2**n * math.factorial(n)), rtol=1e-9)


@pytest.mark.parametrize("coeffs", [(0.25,) * 4, (1.0, 1.0, -1.0), (0.1, 0.2, 0.3, 0.4), (0.7, 0.3), (1.0, 0.5)])
def test_uniform_cdf_against_monte_carlo(coeffs):
    """DKW: sup |F_N - F| <= sqrt(log(2 / alpha) / (2N)) with probability 1 - alpha (alpha = 1e-3)."""
    n = 10**6
    z = U.sample(n, len(coeffs), seed=11)
    y = np.sort(z @ np.array(coeffs))
    F = matching.sum_law(U, coeffs).cdf(y)
    dist = max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n))
    assert dist < math.sqrt(math.log(2 / 1e-3) / (2 * n))


def _box_convolution_cdf(a, y, h=5e-4):
    """An independent reference: direct (not FFT) numerical convolution of box densities on a grid."""
    dens = None
    for ai in a:
        m = int(round(ai / h))
        box = np.ones(2 * m + 1)
        box[0] = box[-1] = 0.5  # trapezoidal rule for the box's ends
        box /= box.sum()
        dens = box if dens is None else np.convolve(dens, box)
    grid = (np.arange(dens.size) - (dens.size - 1) / 2) * h
    cdf = np.cumsum(dens) - dens / 2
    return np.interp(y, grid, cdf, left=0.0, right=1.0)


@settings(max_examples=40, deadline=None)
@given(hs.lists(hs.integers(-40, 40).filter(lambda v: v != 0), min_size=1, max_size=4))
def test_uniform_cdf_against_numerical_convolution(ints):
    """Random coefficients (multiples of 0.05, signs mixed): exact CDF vs an independent direct convolution."""
    coeffs = [v * 0.05 for v in ints]
    a = [abs(c) for c in coeffs]
    y = np.linspace(-sum(a), sum(a), 301)
    exact = matching.sum_law(U, coeffs).cdf(y)
    np.testing.assert_allclose(exact, _box_convolution_cdf(a, y), atol=2e-3)


@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.floats(-3, 3).filter(lambda v: abs(v) > 1e-12), min_size=1, max_size=5))
def test_uniform_law_properties_for_random_coefficients(coeffs):
    law = matching.sum_law(U, coeffs)
    big_a = sum(abs(c) for c in coeffs)
    y = np.concatenate([np.linspace(-big_a, big_a, 501), [-1e300, 1e300, -big_a, big_a, 0.0]])
    F, T = law.cdf(y), law.transport(y)
    assert np.all(np.isfinite(F)) and np.all(np.isfinite(T))
    assert np.all((F >= 0) & (F <= 1)) and np.all((T >= -1) & (T <= 1))
    np.testing.assert_allclose(law.cdf(-y), 1 - F, atol=1e-12)  # symmetry
    np.testing.assert_allclose(law.transport(-y), -T, atol=1e-12)
    order = np.argsort(y, kind="stable")
    assert np.all(np.diff(T[order]) >= 0), "the map is monotone"
    assert T[-5] == -1 and T[-4] == 1 and abs(T[-1]) < 1e-15
    np.testing.assert_allclose(T, 2 * F - 1, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(hs.lists(hs.floats(-2, 2).filter(lambda v: abs(v) > 0.05), min_size=1, max_size=3), hs.floats(0.1, 10))
def test_maps_are_scale_invariant(coeffs, s):
    """T for (s c, s y) equals T for (c, y): the map depends on y / scale only."""
    y = np.linspace(-2, 2, 101) * sum(abs(c) for c in coeffs)
    for prior in (Gaussian(), U):
        np.testing.assert_allclose(
            matching.sum_law(prior, [s * c for c in coeffs]).transport(s * y),
            matching.sum_law(prior, coeffs).transport(y),
            atol=1e-9,
        )


def test_tiny_coefficients_stay_exact():
    """t = 1e-9 lerp: the pieces are exact rationals, so no cancellation; the map is the identity to ~1e-9."""
    law = matching.sum_law(U, (1 - 1e-9, 1e-9))
    y = np.linspace(-1, 1, 10001)
    np.testing.assert_allclose(law.transport(y), y / (1 - 1e-9), atol=2e-9)


def test_uniform_with_other_bounds():
    prior = Uniform(0.0, 1.0)
    law = matching.sum_law(prior, (0.5, 0.5))
    y = np.linspace(0, 1, 101)
    w = 2 * y - 1  # the same map after standardising
    np.testing.assert_allclose(law.transport(y), (w * (2 - np.abs(w)) + 1) / 2, atol=1e-14)


# ---------------------------------------------------------------------------------------------- uniform: fused kernel
# at most 4 compiled variants (degree, pieces, dtype) in these tests: (2, 1, f32), (4, 2, f32), (4, 2, f64), (3, 3, f32)
FUSED_CASES = [
    (U, (0.5, 0.5), torch.float32),
    (U, (0.25,) * 4, torch.float32),
    (U, (0.25,) * 4, torch.float64),
    (Uniform(0.0, 1.0), (1.0, 0.5, -0.25), torch.float32),
]


def _probe(law, n=20001):
    """y on a grid over 1.2 x the support, the breakpoints, the end points +-A, 0, +-inf and NaN (last 6)."""
    big_a = law.A
    w = np.concatenate([np.linspace(-1.2 * big_a, 1.2 * big_a, n), law._inner, -law._inner])
    w = np.concatenate([w, [-big_a, big_a, 0.0, -np.inf, np.inf, np.nan]])
    return law.shift + law.h * w


def _fused_or_skip(law, y):
    from otlatent.matching import uniform

    if not uniform.fused_available():
        pytest.skip("the fused kernel is switched off or does not compile here")
    try:
        return law._transport_fused(y)
    except Exception as err:  # e.g. no C++ compiler
        pytest.skip(f"torch.compile is unavailable: {type(err).__name__}")


@pytest.mark.parametrize(("prior", "coeffs", "dtype"), FUSED_CASES, ids=lambda v: repr(v).replace(" ", ""))
def test_fused_and_eager_uniform_maps_against_the_exact_cdf(prior, coeffs, dtype):
    """Both kernels against 2 F - 1 (float64 NumPy CDF; scipy's Irwin-Hall for equal weights) and each other."""
    law = matching.sum_law(prior, coeffs)
    y64 = _probe(law)
    y = torch.as_tensor(y64, dtype=dtype)
    eager = law._transport_eager(y)
    fused = _fused_or_skip(law, y)
    assert fused.dtype == eager.dtype == dtype and fused.shape == eager.shape == y.shape
    m, h = prior.centre, prior.half_width
    exact = m + h * (2 * law.cdf(y.double().numpy()) - 1)  # at the rounded inputs
    exact[-1] = np.nan
    eps = torch.finfo(dtype).eps
    for got in (eager, fused):
        np.testing.assert_allclose(got.double().numpy(), exact, rtol=0, atol=8 * eps, equal_nan=True)
    torch.testing.assert_close(fused, eager, rtol=0, atol=4 * eps, equal_nan=True)
    # exact end points: T(+-A) = T(+-inf) = the prior's bounds; T(0) is the centre to rounding (1 + q(0), q(0) ~ -1)
    lo, hi = prior.low, prior.high
    for got in (eager, fused):
        assert got[-6].item() == lo and got[-5].item() == hi and abs(got[-4].item() - m) <= 2 * eps
        assert got[-3].item() == lo and got[-2].item() == hi and math.isnan(got[-1].item())
    # monotone (on the sorted grid) and symmetric about the centre
    order = torch.argsort(y[:-1], stable=True)
    assert bool((torch.diff(fused[:-1][order]) >= 0).all()), "the fused map is monotone"
    if all(c > 0 for c in coeffs) and len(set(coeffs)) == 1:  # equal weights: the Irwin-Hall law
        n = len(coeffs)
        w = (y64[:-1] - law.shift) / law.h
        ih = 2 * st.irwinhall(n).cdf((w / coeffs[0] + n) / 2) - 1
        np.testing.assert_allclose(fused[:-1].double().numpy(), m + h * ih, rtol=0, atol=8 * eps)
    if coeffs == (0.5, 0.5):  # the midpoint map T(y) = y (2 - |y|)
        yc = y[:-3].clamp(-1, 1).double()
        np.testing.assert_allclose(fused[:-3].double(), yc * (2 - yc.abs()), rtol=0, atol=1e-6)


def test_fused_uniform_map_keeps_kind_shape_and_dtype():
    """NumPy and non-contiguous torch inputs, a half-precision one: the fused kernel returns what the eager one does."""
    law = matching.sum_law(U, (0.25,) * 4)
    gen = torch.Generator().manual_seed(3)
    y = (torch.rand(64, 50, generator=gen) * 2 - 1).t()  # non-contiguous
    fused = _fused_or_skip(law, y)
    assert fused.shape == (50, 64) and torch.equal(fused, law._transport_eager(y))
    y_np = y.numpy()
    out = law._transport_fused(y_np)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and np.array_equal(out, fused.numpy())
    half = law._transport_fused(y.half())
    assert half.dtype == torch.float16 and torch.equal(half, law._transport_eager(y.half()))


def test_large_inputs_take_the_fused_path_unless_switched_off(monkeypatch):
    from otlatent.matching import uniform

    law = matching.sum_law(U, (0.25,) * 4)
    y = torch.linspace(-1, 1, 4097)
    expected = _fused_or_skip(law, y)
    assert law._fused_ok(torch.float32)  # compiled and checked against the eager kernel, before the stand-in below
    monkeypatch.setattr(uniform, "FUSED_MIN", 1000)
    calls = []
    monkeypatch.setattr(law, "_transport_fused", lambda v: calls.append(1) or expected)
    assert law.transport(y) is expected and calls == [1]
    assert law.transport(y[:999]).shape == (999,) and calls == [1]  # small: eager
    monkeypatch.setenv("OTLATENT_COMPILE", "0")
    assert not uniform.fused_available()
    assert torch.equal(law.transport(y), law._transport_eager(y)) and calls == [1]


def test_uniform_map_falls_back_to_eager_when_compiling_fails(monkeypatch):
    """No C++ compiler, an unsupported platform: one warning, then the eager kernel, with the same exact results."""
    from otlatent.matching import uniform

    def broken():
        raise RuntimeError("no working C++ compiler found")

    monkeypatch.setattr(uniform, "_FUSED", {"fn": None, "variants": {}, "failed": False})
    monkeypatch.setattr(uniform, "_compiled", broken)
    monkeypatch.setattr(uniform, "FUSED_MIN", 1000)
    law = uniform.UniformSumLaw(U, (0.5, 0.5))
    y = torch.linspace(-1, 1, 4001)
    with pytest.warns(RuntimeWarning, match="does not compile"):
        out = law.transport(y)
    assert uniform._FUSED["failed"] and not uniform.fused_available()
    assert torch.equal(out, law._transport_eager(y)) and out[0].item() == -1 and out[-1].item() == 1
    np.testing.assert_allclose(out.double(), y.double() * (2 - y.double().abs()), rtol=0, atol=1e-6)
    law.transport(y)  # no second attempt (and no second warning: pytest would not fail on it, so count calls)
    assert uniform._FUSED["failed"]


# ---------------------------------------------------------------------------------------------- gaussian
@settings(max_examples=30, deadline=None)
@given(hs.lists(hs.floats(-3, 3).filter(lambda v: abs(v) > 1e-6), min_size=1, max_size=6))
def test_gaussian_map_is_a_rescaling(coeffs):
    y = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(
        matching.sum_law(Gaussian(), coeffs).transport(y), y / math.sqrt(sum(c * c for c in coeffs)), rtol=1e-14
    )


# ---------------------------------------------------------------------------------------------- numerical laws
@pytest.mark.parametrize("coeffs", [(0.5, 0.5), (0.25,) * 4, (-1, 1, 1), (1, 0.5), (0.05, 0.95)])
def test_numerical_law_error_against_exact_laws(coeffs):
    """The FFT law for Iid(norm) and Iid(uniform) against the exact Gaussian and uniform laws (measured 1e-8, 2e-10)."""
    g_num, g_ex = matching.NumericalSumLaw(Iid(st.norm()), coeffs), matching.sum_law(Gaussian(), coeffs)
    y = np.linspace(-5.5, 5.5, 20001) * g_ex.scale  # central 1 - 4e-8 of the mass
    assert np.max(np.abs(g_num.transport(y) - g_ex.transport(y))) < 5e-8
    u_num, u_ex = matching.NumericalSumLaw(Iid(st.uniform(-1, 2)), coeffs), matching.sum_law(U, coeffs)
    big_a = sum(abs(c) for c in coeffs)
    y = np.linspace(-big_a, big_a, 20001)
    assert np.max(np.abs(u_num.cdf(y) - u_ex.cdf(y))) < 1e-9
    assert np.max(np.abs(u_num.transport(y) - u_ex.transport(y))) < 1e-9


def test_laplace_midpoint_against_closed_form():
    """(L1 + L2) / 2 for L ~ Laplace(0, 1) has survival (1 + y) exp(-2y) / 2 for y >= 0."""
    law = matching.sum_law(LAPLACE, (0.5, 0.5))
    y = np.linspace(-8, 8, 20001)
    tail = (1 + np.abs(y)) * np.exp(-2 * np.abs(y)) / 2
    np.testing.assert_allclose(law.sf(y[y > 0]), tail[y > 0], rtol=1e-5, atol=1e-12)
    exact = np.where(y <= 0, st.laplace.ppf(tail), st.laplace.isf(tail))
    assert np.max(np.abs(law.transport(y) - exact)) < 5e-8


@pytest.mark.parametrize(
    "dist", [st.laplace(), st.logistic(), st.expon(), st.beta(0.5, 0.5), st.t(3)], ids=lambda d: d.dist.name
)
def test_numerical_maps_are_finite_at_edges_and_extreme_tails(dist):
    prior = Iid(dist)
    lo, hi = prior.support
    for coeffs in [(0.5, 0.5), (1.0, -1.0, 1.0)]:
        law = matching.sum_law(prior, coeffs)
        y = np.array([-1e300, -1e30, -1e6, -50.0, 0.0, 1e-300, 50.0, 1e6, 1e30, 1e300])
        ylo, yhi = law.support
        y = np.concatenate([y, [v for v in (ylo, yhi) if math.isfinite(v)]])
        for x in (y, torch.tensor(y), torch.tensor(y.clip(-1e30, 1e30), dtype=torch.float32)):
            T = law.transport(x)
            T = T.numpy() if isinstance(T, torch.Tensor) else T
            assert np.all(np.isfinite(T)), (coeffs, T)
            assert np.all((T >= lo) & (T <= hi))
            assert np.all(np.diff(T[np.argsort(y[: T.size], kind="stable")]) >= 0)


@pytest.mark.parametrize("prior", PRIORS, ids=repr)
def test_edges_of_bounded_and_unbounded_supports(prior):
    law = matching.sum_law(prior, (0.5, 0.5))
    lo, hi = prior.support
    y = np.array([lo if math.isfinite(lo) else -1e300, hi if math.isfinite(hi) else 1e300])
    T = law.transport(y)
    assert np.all(np.isfinite(T)) and T[0] < T[1]


# ---------------------------------------------------------------------------------------------- KL references
def test_kl_reference_numbers_of_the_paper_notes():
    """Reference section 9 (d = 100): KL(mid || prior) 9.66 / 19.31, KL(prior || mid) 15.34 / 30.69 nats."""
    g, u = matching.sum_law(Gaussian(), (0.5, 0.5)), matching.sum_law(U, (0.5, 0.5))
    assert mismatch.kl_exact(g, 100) == pytest.approx(50 * (0.5 - 1 - math.log(0.5)), abs=1e-3)
    assert round(mismatch.kl_exact(g, 100), 2) == 9.66 and round(mismatch.kl_exact(g, 100, reverse=True), 2) == 15.34
    assert mismatch.kl_exact(u, 100) == pytest.approx(100 * (math.log(2) - 0.5), abs=1e-3)
    assert round(mismatch.kl_exact(u, 100), 2) == 19.31 and round(mismatch.kl_exact(u, 100, reverse=True), 2) == 30.69
    assert mismatch.kl_exact(matching.sum_law(U, (1, 0.5)), 100) == math.inf  # vicinity leaves [-1, 1]


def test_kl_of_the_laplace_midpoint_by_quadrature():
    from scipy.integrate import quad

    f = lambda y: (1 + 2 * abs(y)) * math.exp(-2 * abs(y)) / 2  # noqa: E731
    ref = 2 * quad(lambda y: f(y) * math.log(f(y) / (math.exp(-y) / 2)), 0, 40, limit=200)[0]
    assert mismatch.kl_exact(matching.sum_law(LAPLACE, (0.5, 0.5))) == pytest.approx(ref, abs=1e-6)


def test_kl_estimator_is_calibrated():
    """On midpoint samples the estimate lies within 4 standard errors of the binned law it targets."""
    g = Gaussian()
    law = matching.sum_law(g, (0.5, 0.5))
    edges = mismatch.kl_cells(g, law)
    x = g.sample(10**6, 2, seed=5).mean(1)
    est, se = mismatch.kl_estimate(x, g, 100, edges=edges)
    assert abs(est - mismatch.kl_binned(law, g, 100, edges=edges)) < 4 * se
    est0, se0 = mismatch.kl_estimate(g.sample(10**6, 1, seed=6), g, 100, edges=edges)
    assert abs(est0) < 4 * se0
