"""otlatent.transport1d and otlatent.kantorovich against independent references (POT, scipy, numpy) and properties
(hypothesis)."""

import itertools

import numpy as np
import ot
import pytest
import scipy.stats as st
from hypothesis import given, settings
from hypothesis import strategies as hst
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment

from otlatent import kantorovich, transport1d

RTOL = 1e-10


def _pot_wp(x, y, p, wx=None, wy=None):
    """POT's ot.wasserstein_1d returns W_p^p: take the p-th root."""
    return ot.wasserstein_1d(np.asarray(x, float), np.asarray(y, float), wx, wy, p=p) ** (1 / p)


def _cases():
    """Random and adversarial pairs of weighted samples: (name, x, y, wx, wy)."""
    rng = np.random.default_rng(12)
    yield "equal sizes", rng.normal(size=200), rng.exponential(size=200), None, None
    yield "unequal sizes", rng.normal(size=173), rng.uniform(-1, 3, size=61), None, None
    yield "sizes 1 and 5", np.array([0.3]), rng.normal(size=5), None, None
    yield "weighted", rng.normal(size=90), rng.laplace(size=40), rng.dirichlet(np.ones(90)), rng.dirichlet(np.ones(40))
    # ties: integer-valued samples, within and across the two samples
    yield "ties", rng.integers(0, 5, size=120).astype(float), rng.integers(2, 7, size=80).astype(float), None, None
    yield (
        "ties weighted",
        rng.integers(0, 3, size=30).astype(float),
        rng.integers(0, 3, size=30).astype(float),
        rng.dirichlet(np.ones(30)),
        rng.dirichlet(np.ones(30)),
    )
    # zero weights, and levels i/n = j/m shared by both sides (n = 12, m = 8)
    w = rng.dirichlet(np.ones(12))
    w[[0, 5]] = 0
    yield "zero weights", rng.normal(size=12), rng.normal(size=8), w / w.sum(), None
    yield "identical", np.arange(10.0), np.arange(10.0)[::-1], None, None
    yield "far apart", rng.normal(size=50) + 1e3, rng.normal(size=70), None, None


CASES = list(_cases())
IDS = [c[0] for c in CASES]


# ----------------------------------------------------------------------------- wasserstein_1d
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("p", [1, 1.5, 2, 3])
def test_wasserstein_1d_matches_pot(case, p):
    _, x, y, wx, wy = case
    np.testing.assert_allclose(
        transport1d.wasserstein_1d(x, y, p, wx, wy), _pot_wp(x, y, p, wx, wy), rtol=RTOL, atol=1e-12
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wasserstein_1d_matches_scipy(case):
    _, x, y, wx, wy = case
    np.testing.assert_allclose(
        transport1d.wasserstein_1d(x, y, 1, wx, wy), st.wasserstein_distance(x, y, wx, wy), rtol=RTOL, atol=1e-12
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("p", [1, 2, 3])
def test_wasserstein_1d_is_the_lp_optimum(case, p):
    """Sorting solves the full transport LP for the convex cost |x - y|^p (POT's network simplex)."""
    _, x, y, wx, wy = case
    a = np.full(x.size, 1 / x.size) if wx is None else wx
    b = np.full(y.size, 1 / y.size) if wy is None else wy
    M = np.abs(x[:, None] - y[None, :]) ** p
    np.testing.assert_allclose(
        transport1d.wasserstein_1d(x, y, p, wx, wy) ** p, ot.emd2(a, b, M), rtol=1e-8, atol=1e-12
    )


def test_emd2_1d_default_metric_is_squared():
    """POT's emd2_1d defaults to the squared Euclidean metric: it is W_2^2, not W_1."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=40), rng.normal(2, 1, size=55)
    np.testing.assert_allclose(transport1d.wasserstein_1d(x, y, p=2) ** 2, ot.emd2_1d(x, y), rtol=RTOL)
    np.testing.assert_allclose(transport1d.wasserstein_1d(x, y, p=1), ot.emd2_1d(x, y, metric="minkowski"), rtol=RTOL)


def test_wasserstein_1d_large_unequal_sizes_to_1e9():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=200_000), rng.uniform(-2, 2, size=150_001)
    for p in (1, 2):
        np.testing.assert_allclose(transport1d.wasserstein_1d(x, y, p), _pot_wp(x, y, p), rtol=1e-9)


def _exact_wpp_uniform(x, y, p):
    """W_p^p for uniform weights with the levels i/n, j/m merged in integers (i*m vs j*n) and math.fsum."""
    import math

    xs, ys, n, m = np.sort(x), np.sort(y), len(x), len(y)
    merged = sorted([(i * m, 0, i - 1) for i in range(1, n + 1)] + [(j * n, 1, j - 1) for j in range(1, m + 1)])
    terms, prev, i, j = [], 0, 0, 0
    for level, side, k in merged:
        terms.append((level - prev) * abs(xs[i] - ys[j]) ** p)  # both quantiles constant on (prev, level]
        prev = level
        if side == 0:
            i = min(k + 1, n - 1)
        else:
            j = min(k + 1, m - 1)
    return math.fsum(terms) / (n * m)


def test_wasserstein_1d_heavy_tails_is_exact_where_pot_drifts():
    """Uniform levels are exact i/n here; POT's float64 cumsum of 1/n drifts, which heavy tails amplify."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=20_000), rng.standard_t(2, size=15_001)
    for p in (1, 2, 3):
        exact = _exact_wpp_uniform(x, y, p) ** (1 / p)
        np.testing.assert_allclose(transport1d.wasserstein_1d(x, y, p), exact, rtol=1e-13)
        np.testing.assert_allclose(_pot_wp(x, y, p), exact, rtol=1e-8)


def test_wasserstein_1d_known_values():
    # Diracs: W_p(delta_a, delta_b) = |a - b| for every p
    assert transport1d.wasserstein_1d([2.0], [-1.5], p=3) == pytest.approx(3.5)
    # book shifting: {0,1} -> {1,2} costs 1 under |x - y|
    assert transport1d.wasserstein_1d([0, 1], [1, 2]) == pytest.approx(1.0)
    # (1/2)(delta_0 + delta_1) vs delta_{1/2}: every pair moves 1/2
    assert transport1d.wasserstein_1d([0, 1], [0.5], p=2) == pytest.approx(0.5)
    # weighted: 0.25 of the mass moves from 0 to 1
    assert transport1d.wasserstein_1d([0, 1], [0, 1], 1, [0.75, 0.25], [0.5, 0.5]) == pytest.approx(0.25)


# ----------------------------------------------------------------------------- properties
finite = hst.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
samples = arrays(np.float64, hst.integers(1, 30), elements=finite)
orders = hst.sampled_from([1, 1.5, 2, 4])


@settings(max_examples=60, deadline=None)
@given(samples, samples, samples, orders)
def test_triangle_inequality(x, y, z, p):
    wxz = transport1d.wasserstein_1d(x, z, p)
    assert wxz <= transport1d.wasserstein_1d(x, y, p) + transport1d.wasserstein_1d(y, z, p) + 1e-9 * (1 + wxz)


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_monotone_in_p_and_symmetric(x, y):
    """W_p <= W_q for p <= q (Jensen on the quantile coupling); W_p(x, y) = W_p(y, x)."""
    values = [transport1d.wasserstein_1d(x, y, p) for p in (1, 1.5, 2, 3, 6)]
    assert all(a <= b + 1e-9 * (1 + b) for a, b in zip(values, values[1:]))
    np.testing.assert_allclose(transport1d.wasserstein_1d(y, x, 2), values[2], rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(samples, finite, orders)
def test_translation_is_transported_rigidly(x, c, p):
    """Shifting a law by c costs exactly |c|; a law is at distance 0 from any reordering of itself."""
    np.testing.assert_allclose(transport1d.wasserstein_1d(x, x + c, p), abs(c), rtol=1e-9, atol=1e-9)
    assert transport1d.wasserstein_1d(x, x[::-1], p) == 0


@settings(max_examples=60, deadline=None)
@given(samples, hst.floats(0.01, 100), orders)
def test_scaling(x, s, p):
    y = np.zeros(3)
    np.testing.assert_allclose(
        transport1d.wasserstein_1d(s * x, y, p), s * transport1d.wasserstein_1d(x, y, p), rtol=1e-9, atol=1e-9
    )


@settings(max_examples=60, deadline=None)
@given(samples, hst.lists(hst.floats(0, 1), min_size=1, max_size=20))
def test_quantile_is_the_pseudo_inverse(x, levels):
    """Galois connection F^[-1](u) <= t  <=>  u <= F(t); numpy's inverted_cdf is the same function."""
    u = np.array(levels)
    q = transport1d.empirical_quantile(x, u)
    np.testing.assert_array_equal(q[u > 0], np.quantile(x, u[u > 0], method="inverted_cdf"))
    assert np.all(transport1d.empirical_cdf(x, q) >= u - 1e-12)  # F(F^[-1](u)) >= u
    t = np.sort(x)
    assert np.all(transport1d.empirical_quantile(x, transport1d.empirical_cdf(x, t)) <= t)  # F^[-1](F(t)) <= t


@settings(max_examples=40, deadline=None)
@given(samples, samples)
def test_monotone_map_is_nondecreasing(x, y):
    t = np.linspace(-1.2e3, 1.2e3, 301)
    assert np.all(np.diff(transport1d.monotone_map(t, x, y)) >= 0)


def test_weighted_quantile_matches_numpy():
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=25), rng.dirichlet(np.ones(25))
    u = rng.uniform(size=100)
    np.testing.assert_array_equal(
        transport1d.empirical_quantile(x, u, w), np.quantile(x, u, weights=w, method="inverted_cdf")
    )
    np.testing.assert_allclose(transport1d.empirical_cdf(x, [-np.inf, np.inf, x[3]], w), [0, 1, w[x <= x[3]].sum()])


# ----------------------------------------------------------------------------- monotone map
def test_monotone_map_sorted_matching_is_emd_1d_plan():
    """For equal sizes the map sends the i-th smallest atom to the i-th smallest: POT's emd_1d plan."""
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=30), rng.gamma(2.0, size=30)
    T = transport1d.monotone_map(x, x, y)
    j = kantorovich.monge_map_from_plan(ot.emd_1d(x, y))
    np.testing.assert_array_equal(T, y[j])
    np.testing.assert_array_equal(np.sort(T), np.sort(y))


def test_monotone_map_of_distributions_is_the_closed_form():
    x = np.linspace(-4, 4, 41)
    np.testing.assert_allclose(transport1d.monotone_map(x, st.norm(), st.expon()), -np.log(st.norm.sf(x)), rtol=1e-12)
    np.testing.assert_allclose(
        transport1d.monotone_map(x, st.norm(1, 2), st.norm(-1, 0.5)), -1 + 0.25 * (x - 1), rtol=1e-12
    )
    # the tail: naive ppf(cdf(12)) = ppf(1.0) = inf; the survival-function branch stays exact
    np.testing.assert_allclose(
        transport1d.monotone_map([12.0, -12.0], st.norm(), st.norm(0, 2)), [24.0, -24.0], rtol=1e-12
    )


def test_monotone_map_pushes_forward():
    """T(X) has the target law: compare with a KS test at the sample size's resolution."""
    rng = np.random.default_rng(7)
    z = transport1d.monotone_map(rng.uniform(-1, 1, size=20_000), st.uniform(-1, 2), st.laplace())
    assert st.kstest(z, st.laplace().cdf).pvalue > 1e-3


def test_monotone_map_mixed_empirical_and_analytic():
    rng = np.random.default_rng(8)
    src = rng.normal(size=1000)
    out = transport1d.monotone_map(src, src, st.uniform())
    np.testing.assert_allclose(np.sort(out), np.arange(1, 1001) / 1000, rtol=1e-12)


# ----------------------------------------------------------------------------- Kantorovich
@pytest.mark.parametrize("n, m", [(6, 6), (9, 4), (1, 7), (25, 30)])
def test_kantorovich_matches_pot_emd(n, m):
    rng = np.random.default_rng(n * 100 + m)
    a, b = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(m))
    C = ot.dist(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)))
    res = kantorovich.kantorovich(a, b, C)
    np.testing.assert_allclose(res.cost, ot.emd2(a, b, C), rtol=1e-9)
    np.testing.assert_allclose(res.plan, ot.emd(a, b, C), atol=1e-9)  # generic costs: unique optimum
    np.testing.assert_allclose(res.plan.sum(1), a, atol=1e-12)
    np.testing.assert_allclose(res.plan.sum(0), b, atol=1e-12)
    assert res.plan.min() >= -1e-12
    # strong duality and dual feasibility
    np.testing.assert_allclose(a @ res.u + b @ res.v, res.cost, rtol=1e-9)
    assert np.all(res.u[:, None] + res.v[None, :] <= C + 1e-9)


def test_kantorovich_permutation_is_the_assignment_optimum():
    rng = np.random.default_rng(9)
    n = 12
    C = rng.uniform(size=(n, n))
    res = kantorovich.kantorovich(np.full(n, 1 / n), np.full(n, 1 / n), C)
    T = kantorovich.monge_map_from_plan(res.plan)
    rows, cols = linear_sum_assignment(C)
    np.testing.assert_array_equal(T[rows], cols)
    np.testing.assert_allclose(res.cost, C[rows, cols].mean(), rtol=1e-12)


def test_brute_force_permutation_equals_sorting_for_convex_costs():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=6), rng.exponential(size=6)
    for h in (np.abs, np.square, lambda d: np.abs(d) ** 3, lambda d: np.exp(d)):
        best = min(itertools.permutations(range(6)), key=lambda s: h(x - y[list(s)]).sum())
        np.testing.assert_allclose(h(x - y[list(best)]).sum(), h(np.sort(x) - np.sort(y)).sum(), rtol=1e-12)


def test_no_map_from_one_dirac_to_two():
    res = kantorovich.kantorovich([1.0], [0.5, 0.5], [[1.0, 2.0]])
    np.testing.assert_allclose(res.plan, [[0.5, 0.5]])
    with pytest.raises(ValueError, match=r"splits the mass of row\(s\) \[0\]"):
        kantorovich.monge_map_from_plan(res.plan)


def test_monge_map_from_plan_many_to_one():
    np.testing.assert_array_equal(
        kantorovich.monge_map_from_plan([[0.5, 0], [0.25, 0], [0, 0.25], [0, 0]]), [0, 0, 1, -1]
    )


# ----------------------------------------------------------------------------- Gaussians
def _random_spd(rng, d):
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.1 * np.eye(d)


@pytest.mark.parametrize("d", [2, 5])
def test_gaussian_map_matches_pot(d):
    rng = np.random.default_rng(d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    S1, S2 = _random_spd(rng, d), _random_spd(rng, d)
    T = kantorovich.gaussian_map(m1, S1, m2, S2)
    A_ref, b_ref = ot.gaussian.bures_wasserstein_mapping(m1, m2, S1, S2)
    np.testing.assert_allclose(T.A, A_ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(T.b, np.ravel(b_ref), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(T.A @ S1 @ T.A, S2, rtol=1e-9, atol=1e-9)  # pushes N(m1,S1) to N(m2,S2)
    np.testing.assert_allclose(T(m1), m2, atol=1e-10)
    assert np.linalg.eigvalsh(T.A).min() > 0  # gradient of a convex function
    np.testing.assert_allclose(
        kantorovich.gaussian_w2(m1, S1, m2, S2), ot.gaussian.bures_wasserstein_distance(m1, m2, S1, S2), rtol=1e-7
    )


def test_gaussian_map_1d_is_the_monotone_map():
    T = kantorovich.gaussian_map(1.0, 4.0, -2.0, 0.25)  # variances
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(T(x), transport1d.monotone_map(x, st.norm(1, 2), st.norm(-2, 0.5)), rtol=1e-12)
    assert kantorovich.gaussian_w2(1.0, 4.0, -2.0, 0.25) == pytest.approx(np.hypot(3.0, 1.5))


def test_gaussian_w2_against_samples():
    """The closed form agrees with W_2 of large 1-D samples (error O(n^-1/2 log n))."""
    rng = np.random.default_rng(11)
    x, y = rng.normal(0, 1, 200_000), rng.normal(1, 3, 200_000)
    assert transport1d.wasserstein_1d(x, y, 2) == pytest.approx(kantorovich.gaussian_w2(0, 1, 1, 9), rel=0.02)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: transport1d.wasserstein_1d([], [1.0]), "x is empty"),
        (lambda: transport1d.wasserstein_1d([1.0], np.array([])), "y is empty"),
        (lambda: transport1d.wasserstein_1d([1.0, np.nan], [1.0]), "x holds 1 NaN"),
        (lambda: transport1d.wasserstein_1d([1.0], [np.inf]), "y holds 1 NaN or infinite"),
        (lambda: transport1d.wasserstein_1d([[1.0, 2.0]], [1.0]), "1-D array"),
        (lambda: transport1d.wasserstein_1d([1.0], [1.0], p=0.5), "p must be"),
        (lambda: transport1d.wasserstein_1d([1.0, 2.0], [1.0], x_weights=[1.5, -0.5]), "negative weight"),
        (lambda: transport1d.wasserstein_1d([1.0, 2.0], [1.0], x_weights=[1.0, 1.0]), r"sum to 2\.0, not 1"),
        (lambda: transport1d.wasserstein_1d([1.0, 2.0], [1.0], x_weights=[1.0]), "one weight per sample"),
        (lambda: transport1d.wasserstein_1d([1.0], [1.0, 2.0], y_weights=[0.5, np.nan]), "NaN"),
        (lambda: transport1d.empirical_quantile([1.0, 2.0], [0.5, 1.2]), r"\[0, 1\]"),
        (lambda: transport1d.empirical_cdf([1.0], [np.nan]), "NaN"),
        (lambda: transport1d.monotone_map([], [1.0], [2.0]), "x is empty"),
        (lambda: kantorovich.kantorovich([0.5, 0.5], [1.0], np.ones((2, 2))), r"C has shape \(2, 2\)"),
        (lambda: kantorovich.kantorovich([0.5, 0.5], [0.7], np.ones((2, 1))), "equal total mass"),
        (lambda: kantorovich.kantorovich([1.5, -0.5], [1.0], np.ones((2, 1))), "a holds negative"),
        (lambda: kantorovich.kantorovich([], [1.0], np.ones((0, 1))), "a is empty"),
        (lambda: kantorovich.monge_map_from_plan(np.ones(3)), "2-D"),
        (lambda: kantorovich.gaussian_map([0, 0], np.eye(3), [0, 0], np.eye(2)), r"cov_source has shape \(3, 3\)"),
        (lambda: kantorovich.gaussian_map([0, 0], -np.eye(2), [0, 0], np.eye(2)), "not positive definite"),
        (lambda: kantorovich.gaussian_map([0], 1.0, [0, 0], np.eye(2)), "dimension"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
