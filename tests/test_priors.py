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
