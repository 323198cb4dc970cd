# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 — Optimal transport in one dimension
#
# The paper fixes every latent operation (interpolation, vicinity sampling, analogies) by applying, to each
# component $y$ of its output, the map
#
# $$\tilde y = T(y) = F_Z^{[-1]}\big(F_Y(y)\big) \qquad \text{(Eq. 6 of the paper)}$$
#
# where $F_Y$ is the CDF of the operation's output and $F_Z$ the CDF of the prior. This notebook is the
# one-dimensional theory behind that map: why it sends $Y$ to the prior, and why it is the *cheapest*
# way to do so for the $\ell_1$ cost the paper uses (its Theorem 2 = Santambrogio 2015, Thm 2.9).
#
# **What you will learn**
# - CDFs, quantile functions and the pseudo-inverse $F^{[-1]}(u) = \inf\{t : F(t) \ge u\}$, and how
#   $F(X)$ and $F^{[-1]}(U)$ *push* one law onto another;
# - why sorting — the monotone rearrangement — is an optimal transport plan for every convex cost $h(x-y)$,
#   checked against a brute-force search over all permutations;
# - why the cost $|x-y|$ has many optimal plans ("book shifting"), and what that means for the paper's $\ell_1$ cost;
# - how $W_p$ is computed by sorting, and how fast its empirical estimate converges;
# - what $T = F_Z^{[-1]}\circ F_Y$ looks like for the paper's operations.

# %% tags=["parameters"]
preset = "cpu"  # smoke | cpu | paper
seed = 0

# %%
import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import ot
import pandas as pd
import scipy.stats as st
from scipy.integrate import quad

import otlatent
from otlatent import kantorovich, transport1d
from otlatent.plots import method_color
from otlatent.plots import transport as tp

study = otlatent.start("01_optimal_transport_1d", preset=preset, seed=seed)
cfg = study.preset
rng = study.rng


def dkw(n, alpha=1e-6):
    """Dvoretzky–Kiefer–Wolfowitz: sup_t |F_n(t) - F(t)| <= dkw(n) with probability >= 1 - alpha."""
    return math.sqrt(math.log(2 / alpha) / (2 * n))


print(f"DKW bound on the sup-distance between a CDF and its empirical estimate from n_sim = {cfg.n_sim:,} draws: "
      f"{dkw(cfg.n_sim):.4f} (probability of exceeding it < 1e-6)")

# %% [markdown]
# ## 1. CDFs and quantile functions
#
# A probability law $\mu$ on $\mathbb R$ is described by its CDF $F(t) = \mu\big((-\infty, t]\big)$:
# non-decreasing, right-continuous, from 0 to 1. It jumps at atoms and is flat on gaps of the support, so it
# need not have an inverse. The **quantile function** is its *pseudo-inverse*
#
# $$F^{[-1]}(u) = \inf\{t \in \mathbb R : F(t) \ge u\}, \qquad u \in (0, 1],$$
#
# the left-most point where $F$ reaches level $u$. It jumps where $F$ is flat and is flat where $F$ jumps, and
# it is linked to $F$ by the *Galois inequality*
#
# $$F^{[-1]}(u) \le t \iff u \le F(t),$$
#
# which is all the next section needs. For an empirical law $\frac1n\sum_i \delta_{x_i}$, $F^{[-1]}(u)$ is the
# $\lceil nu\rceil$-th smallest sample (numpy's `quantile(..., method="inverted_cdf")`).
#
# The atoms $\{0, 1, 1, 3\}$ below give an atom of mass $1/2$ at 1: $F$ jumps from $1/4$ to $3/4$ there, and every level
# $u \in (1/4, 3/4]$ has quantile 1.

# %%
# NBVAL_CHECK_OUTPUT
atoms = np.array([0.0, 1.0, 1.0, 3.0])
t_points = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0])
u_points = np.array([0.1, 0.25, 0.26, 0.5, 0.75, 0.76, 1.0])
print("t      ", t_points)
print("F(t)   ", transport1d.empirical_cdf(atoms, t_points))
print("u      ", u_points)
print("F^-1(u)", transport1d.empirical_quantile(atoms, u_points))

# the Galois inequality on a fine grid of levels and points
t_grid, u_grid = np.linspace(-1, 4, 501), np.linspace(0.001, 1, 1000)
lhs = transport1d.empirical_quantile(atoms, u_grid)[:, None] <= t_grid[None, :]
rhs = u_grid[:, None] <= transport1d.empirical_cdf(atoms, t_grid)[None, :]
assert np.array_equal(lhs, rhs)
print("Galois inequality F^-1(u) <= t  <=>  u <= F(t): holds on the whole grid")

# %%
fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
ax = axes[0, 0]
tp.step_cdf(ax, atoms, color=method_color("linear"))
ax.set(xlabel="t", ylabel="F(t)", title="empirical CDF of {0, 1, 1, 3}")
ax = axes[0, 1]
u = np.linspace(1e-4, 1, cfg.grid)
ax.plot(u, transport1d.empirical_quantile(atoms, u), drawstyle="steps-post", color=method_color("linear"))
ax.set(xlabel="u", ylabel="$F^{[-1]}(u)$", title="its quantile function (pseudo-inverse)")
# a mixed law: an atom of mass 0.3 at 1, nothing on (1, 2), the remaining 0.7 uniform on [2, 4]
ax = axes[1, 0]
ax.plot([0, 1], [0, 0], color=method_color("prior"))
ax.plot([1, 2], [0.3, 0.3], color=method_color("prior"))
ax.plot([2, 4, 5], [0.3, 1, 1], color=method_color("prior"))
ax.plot([1], [0.3], "o", color=method_color("prior"), ms=4)
ax.plot([1], [0], "o", mfc="white", color=method_color("prior"), ms=4)
ax.set(xlabel="t", ylabel="F(t)", title="0.3·δ₁ + 0.7·U[2, 4]: a jump, then a flat stretch")
ax = axes[1, 1]
mixed_quantile = lambda u: np.where(u <= 0.3, 1.0, 2 + 2 * (u - 0.3) / 0.7)
ax.plot(u[u <= 0.3], mixed_quantile(u[u <= 0.3]), color=method_color("prior"))
ax.plot(u[u > 0.3], mixed_quantile(u[u > 0.3]), color=method_color("prior"))
ax.plot([0.3], [1], "o", color=method_color("prior"), ms=4)
ax.plot([0.3], [2], "o", mfc="white", color=method_color("prior"), ms=4)
ax.set(xlabel="u", ylabel="$F^{[-1]}(u)$", title="its quantile: flat, then a jump")
fig.tight_layout()
study.savefig(fig, "cdf_quantile", caption=(
    "Top: the empirical CDF of the atoms {0, 1, 1, 3} (closed dots: the value at a jump, F is right-continuous) and "
    "its quantile function, flat at 1 for all levels in (1/4, 3/4], the mass of the double atom. Bottom: a law with an "
    "atom of mass 0.3 at 1 and a gap (1, 2) in its support. Where F jumps (t = 1), the quantile function is flat "
    "(u ≤ 0.3); where F is flat (1 ≤ t < 2), the quantile function jumps (from 1 to 2 at u = 0.3). It is "
    "left-continuous, as an infimum must be."))

# %% [markdown]
# ## 2. Push-forward
#
# A map $T$ *pushes* a law $\mu$ forward to $T_\#\mu$, the law of $T(X)$ when $X \sim \mu$:
# $T_\#\mu(A) = \mu\big(T^{-1}(A)\big)$. Two push-forwards make all of one-dimensional transport:
#
# 1. **Inverse-transform sampling.** If $U \sim \mathrm{Unif}(0,1)$, then $F^{[-1]}(U) \sim F$ for *any* $F$:
#    by the Galois inequality $P(F^{[-1]}(U) \le t) = P(U \le F(t)) = F(t)$.
# 2. **Probability integral transform.** If $F$ is *continuous*, then $F(X) \sim \mathrm{Unif}(0,1)$ for $X \sim F$.
#    With atoms this fails: $F(X)$ only takes the values of $F$ at the atoms.
#
# Chaining them, $T = F_Z^{[-1]} \circ F_Y$ pushes $Y$ onto $Z$ whenever $F_Y$ is continuous: $F_Y(Y)$ is uniform, and
# $F_Z^{[-1]}$ of a uniform has law $F_Z$. Below, with $n_{\rm sim}$ draws, each claim is checked by a
# Kolmogorov–Smirnov distance compared with the DKW bound $\sqrt{\log(2/\alpha)/(2n)}$ at $\alpha = 10^{-6}$.

# %%
n = cfg.n_sim
gamma = st.gamma(2.0)
y_cont = gamma.rvs(size=n, random_state=rng)
u_cont = gamma.cdf(y_cont)                           # F(X) for a continuous law
pois = st.poisson(2.0)
y_disc = pois.rvs(size=n, random_state=rng)
u_disc = pois.cdf(y_disc)                            # F(X) for a law with atoms
z = st.norm.ppf(rng.uniform(size=n))                  # F^-1(U), target N(0, 1)
z_from_y = transport1d.monotone_map(y_cont, gamma, st.norm())  # F_Z^-1(F_Y(Y))

ks = {
    "F_Y(Y), Y ~ Gamma(2), vs Unif(0,1)": st.kstest(u_cont, "uniform").statistic,
    "F^-1(U) vs N(0,1)": st.kstest(z, "norm").statistic,
    "F_Z^-1(F_Y(Y)) vs N(0,1) (= row 1)": st.kstest(z_from_y, "norm").statistic,
    "F_Y(Y), Y ~ Poisson(2), vs Unif(0,1)": st.kstest(u_disc, "uniform").statistic,
}
for name, d in ks.items():
    print(f"KS distance {name:<40s} {d:.4f}")
bound = dkw(n)
assert max(list(ks.values())[:3]) < bound, "continuous laws: push-forwards must match within the DKW bound"
assert ks["F_Y(Y), Y ~ Poisson(2), vs Unif(0,1)"] > 10 * bound, "atoms: F(X) is far from uniform"
# KS compares CDFs at every point, and an increasing map moves a sample and its CDF's argument together: the KS
# distance of F_Z^-1(U) to F_Z is the KS distance of U to Unif(0, 1). Row 3 is row 1 again, by this invariance.
np.testing.assert_allclose(ks["F_Z^-1(F_Y(Y)) vs N(0,1) (= row 1)"], ks["F_Y(Y), Y ~ Gamma(2), vs Unif(0,1)"], atol=1e-9)
print(f"DKW bound at n = {n:,}: {bound:.4f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
axes[0].hist(u_cont, bins=50, density=True, color=method_color("matched"), alpha=0.7)
axes[0].set(title="F(Y), Y ~ Gamma(2): uniform", xlabel="u")
values, counts = np.unique(u_disc, return_counts=True)
axes[1].vlines(values, 0, counts / n, color=method_color("linear"), lw=2)
axes[1].set(title="F(Y), Y ~ Poisson(2): a few atoms", xlabel="u", ylabel="probability", xlim=(0, 1.02))
grid = np.linspace(-4, 4, cfg.grid)
axes[2].hist(z_from_y, bins=80, density=True, color=method_color("matched"), alpha=0.6, label="$F_Z^{-1}(F_Y(Y))$")
axes[2].plot(grid, st.norm.pdf(grid), color=method_color("prior"), label="N(0,1) density")
axes[2].set(title="Gamma(2) pushed onto N(0,1)", xlabel="z")
axes[2].legend(fontsize="small", loc="upper left")
fig.tight_layout()
study.savefig(fig, "pushforward", caption=(
    f"Push-forwards from {n:,} draws. Left: the CDF of a continuous law applied to its own samples is uniform. "
    "Middle: with atoms (Poisson) F(Y) takes only the values of F at the atoms, each with the atom's mass: no map "
    "can spread an atom over an interval. Right: F_Z^-1∘F_Y sends Gamma(2) samples onto the standard normal density."))

# %% [markdown]
# ## 3. The monotone rearrangement is optimal for every convex cost
#
# Transport $n$ points $x_1,\dots,x_n$ onto $n$ points $y_1,\dots,y_n$, each of mass $1/n$, at cost $h(x-y)$ per unit
# of mass. A Monge map is then a permutation $\sigma$, with cost $\frac1n\sum_i h(x_i - y_{\sigma(i)})$.
#
# **Claim.** If $h$ is convex, pairing the $k$-th smallest $x$ with the $k$-th smallest $y$ — the
# *monotone rearrangement*, $T = F_Y^{[-1]}\circ F_X$ on the samples — is optimal.
#
# **Why (exchange argument).** Take $x_1 < x_2$ and $y_1 < y_2$. The crossed pairing uses the differences
# $a = x_1 - y_2$ and $d = x_2 - y_1$; the uncrossed one $b = x_1 - y_1$ and $c = x_2 - y_2$. Both pairs have the same sum
# and $a \le b, c \le d$: the uncrossed differences lie inside $[a, d]$. For convex $h$, writing $b$ and $c$ as
# convex combinations of $a$ and $d$ gives $h(b) + h(c) \le h(a) + h(d)$. Any permutation that is not monotone contains a crossed
# pair; uncrossing it never increases the cost, and finitely many uncrossings reach the sorted pairing.
# For continuous laws the same argument gives Theorem 2 of the paper.
#
# **Check.** For `n_trials` random instances of `n_brute` points (x normal, y exponential) we enumerate all
# `n_brute`! permutations and compare the best cost with the cost of sorting, for four convex costs and
# $\sqrt{|x-y|}$, which is concave on each side of 0 (not on the whole line: it has a cusp at 0).

# %%
m = cfg.n_brute
perms = np.array(list(itertools.permutations(range(m))))
costs = {
    "|d|": np.abs,
    "d^2": np.square,
    "|d|^3": lambda d: np.abs(d) ** 3,
    "exp(d)": np.exp,
    "sqrt|d| (concave on each side of 0)": lambda d: np.sqrt(np.abs(d)),
}
optimal_by_sorting = {name: 0 for name in costs}
for _ in range(cfg.n_trials):
    x, y = rng.normal(size=m), rng.exponential(size=m)
    for name, h in costs.items():
        C = h(x[:, None] - y[None, :])
        brute = C[np.arange(m), perms].sum(axis=1).min()
        sorted_cost = h(np.sort(x) - np.sort(y)).sum()
        optimal_by_sorting[name] += bool(sorted_cost <= brute * (1 + 1e-12))
table = pd.DataFrame({"sorting optimal": optimal_by_sorting, "trials": cfg.n_trials})
table["fraction"] = table["sorting optimal"] / table["trials"]
study.save_table(table, "brute_force_vs_sorting", caption=(
    f"In how many of {cfg.n_trials} random instances of {m} points per side the sorted matching reaches the "
    f"brute-force optimum over all {len(perms):,} permutations."))
for name in ["|d|", "d^2", "|d|^3", "exp(d)"]:
    assert optimal_by_sorting[name] == cfg.n_trials, f"sorting must be optimal for the convex cost {name}"

# %% [markdown]
# Sorting wins every trial for the four convex costs, including the asymmetric $e^{d}$. For $\sqrt{|d|}$ it
# need not: a cost concave on each side of 0 prefers one long move plus one short one to two medium ones, so
# optimal plans cross.
# A fixed example: $x = \{0, 1\}$, $y = \{1, 2\}$.

# %%
# NBVAL_CHECK_OUTPUT
x2, y2 = np.array([0.0, 1.0]), np.array([1.0, 2.0])
for name, h in [("|d|", np.abs), ("d^2", np.square), ("sqrt|d|", lambda d: np.sqrt(np.abs(d)))]:
    sorted_cost, crossed_cost = h(x2 - y2).sum(), h(x2 - y2[::-1]).sum()
    print(f"{name:8s} sorted {sorted_cost:.4f}   crossed {crossed_cost:.4f}")

# %%
x, y = np.sort(rng.normal(size=m)), rng.exponential(size=m)
C = (x[:, None] - y[None, :]) ** 2
all_costs = C[np.arange(m), perms].mean(axis=1)
to_sorted = np.argsort(y)  # x is sorted: x[i] -> the i-th smallest y
worst = perms[all_costs.argmax()]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2), gridspec_kw={"width_ratios": [1.3, 1, 1]})
axes[0].hist(all_costs, bins=40, color="0.7")
axes[0].axvline(C[np.arange(m), to_sorted].mean(), color=method_color("matched"), lw=2, label="sorted matching")
axes[0].set(xlabel="mean squared displacement", ylabel="permutations",
            title=f"all {len(perms):,} matchings of {m} points")
axes[0].legend(fontsize="small")
tp.draw_matching(axes[1], x, y, to_sorted)
axes[1].set(title=f"sorted: cost {C[np.arange(m), to_sorted].mean():.2f}", yticklabels=["y", "x"])
tp.draw_matching(axes[2], x, y, worst, color=method_color("linear"))
axes[2].set(title=f"worst: cost {all_costs.max():.2f}", yticklabels=["y", "x"])
assert np.isclose(all_costs.min(), C[np.arange(m), to_sorted].mean())
study.savefig(fig, "brute_force", caption=(
    f"One instance with {m} points per side and the squared cost. Left: the costs of all matchings; the sorted "
    "matching (green line) is the minimum. Middle: the sorted matching never crosses. Right: the most expensive "
    "matching crosses as much as it can (anti-sorted)."))

# %% [markdown]
# ## 4. The cost $|x-y|$: many optimal plans ("book shifting")
#
# $h(d) = |d|$ is convex, so sorting is optimal — but not *uniquely*: $|\cdot|$ is linear on each side of 0, and the
# exchange inequality is an equality as soon as no pair moves in opposite directions. The classic example: a row of $n$
# books at $0, 1, \dots, n-1$ to be moved to $1, 2, \dots, n$.
#
# - **shift** every book by one (the monotone map): total distance $n \cdot 1$;
# - **move one book** from $0$ to $n$ and leave the others: total distance $n$ as well.
#
# Under $|x - y|$ both are optimal; under $(x-y)^2$ the shift costs $n$ and the single move $n^2$. In fact every
# permutation in which no book moves left is optimal for $|x-y|$ (then $\sum|y_{\sigma(i)} - x_i| = \sum (y_j - x_i) = n$), and
# there are $2^{n-1}$ of them; for the strictly convex $(x-y)^2$ the sorted matching is the only optimum.

# %%
# NBVAL_CHECK_OUTPUT
def count_optima(n_books, h):
    x, y = np.arange(n_books, dtype=float), np.arange(1, n_books + 1, dtype=float)
    P = np.array(list(itertools.permutations(range(n_books))))
    c = h(x[None, :] - y[P]).sum(axis=1)
    return int(np.sum(np.isclose(c, c.min()))), float(c.min())


for n_books in (3, 4, 5, 6):
    k1, c1 = count_optima(n_books, np.abs)
    k2, c2 = count_optima(n_books, np.square)
    print(f"{n_books} books: |x-y| {k1:3d} optimal matchings (cost {c1:.0f}, 2^(n-1) = {2 ** (n_books - 1)}); "
          f"(x-y)^2 {k2} optimal (cost {c2:.0f})")
    assert k1 == 2 ** (n_books - 1) and k2 == 1

# %%
n_books = 5
books, shelf = np.arange(n_books, dtype=float), np.arange(1, n_books + 1, dtype=float)
shift = np.arange(n_books)
one_move = np.r_[n_books - 1, np.arange(n_books - 1)]  # book at 0 -> slot n, book i -> slot i
fig, axes = plt.subplots(1, 2, figsize=(10, 2.8), sharey=True)
for ax, plan, name in [(axes[0], shift, "shift every book"), (axes[1], one_move, "move one book")]:
    d = shelf[plan] - books
    tp.draw_matching(ax, books, shelf, plan)
    ax.set(title=f"{name}: Σ|d| = {np.abs(d).sum():.0f},  Σd² = {np.square(d).sum():.0f}",
           yticklabels=["after", "before"], xlabel="position")
study.savefig(fig, "book_shifting", caption=(
    "Book shifting with 5 books. Both plans move a total distance of 5 and are optimal for the cost |x−y|; "
    "the squared cost separates them (5 against 25) and keeps only the monotone shift."))

# %% [markdown]
# **For the paper.** Its cost is $\ell_1$, $c(x,y) = \sum_i |x^{(i)} - y^{(i)}|$, so the monotone map is *an* optimal map,
# not the only one. It is, however, the only map that is optimal for every convex cost at once (for $(x-y)^2$ it is
# the unique optimum), which makes it the natural choice.
#
# ## 5. $W_p$ by sorting
#
# The $p$-Wasserstein distance is $W_p(\mu,\nu) = \big(\min_\pi \int |x-y|^p\,d\pi\big)^{1/p}$ over couplings $\pi$
# of $\mu$ and $\nu$. In one dimension the monotone (quantile) coupling is optimal, hence
#
# $$W_p^p(\mu,\nu) = \int_0^1 \big|F_\mu^{[-1]}(u) - F_\nu^{[-1]}(u)\big|^p\,du
#   \;\overset{\text{equal sizes}}{=}\; \frac1n\sum_{i=1}^n |x_{(i)} - y_{(i)}|^p .$$
#
# `otlatent.transport1d.wasserstein_1d` evaluates the left form for weighted samples of any sizes in $O(n\log n)$ (two sorts and
# a merge of the cumulative weights). It returns $W_p$; POT's `transport1d.wasserstein_1d` returns $W_p^p$ — a classic
# source of bugs. The two agree to about $10^{-10}$ at a million samples; the remaining difference is rounding in POT's
# float64 running sum of the weights $1/n$, whereas `otlatent` uses the exact levels $i/n$ for uniform weights
# (`benchmarks/bench_wasserstein_1d.py` compares both with an extended-precision evaluation).

# %%
x, y = rng.normal(0, 1, cfg.n_sim), rng.normal(1, 2, (3 * cfg.n_sim) // 4)
rows = []
for p in (1, 2, 3):
    ours = transport1d.wasserstein_1d(x, y, p)
    rows.append({"p": p, "ours W_p": ours, "POT (W_p^p)^(1/p)": ot.wasserstein_1d(x, y, p=p) ** (1 / p),
                 "scipy (p = 1)": st.wasserstein_distance(x, y) if p == 1 else np.nan})
df = pd.DataFrame(rows).set_index("p")
df["rel. diff. to POT"] = (df["ours W_p"] - df["POT (W_p^p)^(1/p)"]).abs() / df["POT (W_p^p)^(1/p)"]
print(df.to_string(float_format=lambda v: f"{v:.10g}"))
assert (df["rel. diff. to POT"] < 1e-9).all()
np.testing.assert_allclose(df.loc[1, "ours W_p"], df.loc[1, "scipy (p = 1)"], rtol=1e-9)

# %% [markdown]
# For $\mu = N(0,1)$ and $\nu = N(1, 2^2)$ the quantile functions are $\Phi^{-1}(u)$ and $1 + 2\Phi^{-1}(u)$, so
# $W_p^p = E|1 + X|^p$ with $X \sim N(0,1)$:
#
# - $W_2 = \sqrt{1^2 + (2-1)^2} = \sqrt 2$ (the Gaussian closed form $W_2^2 = (m_1-m_2)^2 + (\sigma_1-\sigma_2)^2$);
# - $W_1 = E|N(1,1)| = \sqrt{2/\pi}\,e^{-1/2} + 1 - 2\Phi(-1)$ (folded normal).
#
# Both match a direct quadrature of the quantile formula:

# %%
# NBVAL_CHECK_OUTPUT
mu, nu = st.norm(0, 1), st.norm(1, 2)
W1_exact = math.sqrt(2 / math.pi) * math.exp(-0.5) + 1 - 2 * st.norm.cdf(-1)
W2_exact = kantorovich.gaussian_w2(0.0, 1.0, 1.0, 4.0)
W1_quad = quad(lambda u: abs(mu.ppf(u) - nu.ppf(u)), 0, 1, limit=200)[0]
W2_quad = math.sqrt(quad(lambda u: (mu.ppf(u) - nu.ppf(u)) ** 2, 0, 1, limit=200)[0])
print(f"W_1: closed form {W1_exact:.6f}   quadrature {W1_quad:.6f}")
print(f"W_2: closed form {W2_exact:.6f}   quadrature {W2_quad:.6f}   sqrt(2) = {math.sqrt(2):.6f}")
np.testing.assert_allclose([W1_quad, W2_quad], [W1_exact, W2_exact], rtol=1e-7)

# %% [markdown]
# **How fast do samples get there?** With $n$ draws per side, the empirical $W_1$ errs by at most
# $W_1(\mu_n,\mu) + W_1(\nu_n,\nu)$ (triangle inequality), and since $W_1(\mu_n,\mu) = \int |F_n - F|\,dt$ and
# $E|F_n(t) - F(t)| \le \sqrt{F(t)(1-F(t))/n}$,
#
# $$E\,\big|W_1(\mu_n,\nu_n) - W_1(\mu,\nu)\big| \le \frac{J(\mu) + J(\nu)}{\sqrt n}, \qquad J(\mu) = \int \sqrt{F(1-F)}\,dt$$
#
# (Bobkov & Ledoux 2019). We average the error over replications (`n_trials` / 10, at least 10) at six sample sizes up to `n_sim`
# and check it against this bound.

# %%
J = {name: quad(lambda t, d=d: math.sqrt(d.cdf(t) * d.sf(t)), -np.inf, np.inf)[0] for name, d in [("mu", mu), ("nu", nu)]}
reps = max(10, cfg.n_trials // 10)
sizes = np.unique(np.logspace(2, math.log10(cfg.n_sim), 6).astype(int))
records = []
for n_s in sizes:
    for _ in range(reps):
        xs, ys = mu.rvs(n_s, random_state=rng), nu.rvs(n_s, random_state=rng)
        records.append({"n": n_s, "W_1 error": abs(transport1d.wasserstein_1d(xs, ys, 1) - W1_exact),
                        "W_2 error": abs(transport1d.wasserstein_1d(xs, ys, 2) - W2_exact)})
err = pd.DataFrame(records).groupby("n").mean()
err["bound (J_mu + J_nu)/sqrt(n)"] = (J["mu"] + J["nu"]) / np.sqrt(err.index.to_numpy())
print(f"J(mu) = {J['mu']:.4f}, J(nu) = {J['nu']:.4f}; {reps} replications per size")
print(err.to_string(float_format=lambda v: f"{v:.2e}"))
assert (err["W_1 error"] <= err["bound (J_mu + J_nu)/sqrt(n)"]).all()

fig, ax = plt.subplots(figsize=(5.5, 3.8))
ax.loglog(err.index, err["W_1 error"], "o-", color=method_color("matched"), label="mean |W_1 error|")
ax.loglog(err.index, err["W_2 error"], "s-", color=method_color("slerp"), label="mean |W_2 error|")
ax.loglog(err.index, err["bound (J_mu + J_nu)/sqrt(n)"], "--", color="0.4", label="bound $(J_\\mu+J_\\nu)/\\sqrt{n}$")
ax.set(xlabel="samples per side n", ylabel="error", title="empirical $W_p$ between N(0,1) and N(1,4)")
ax.legend(fontsize="small")
study.savefig(fig, "wp_convergence", caption=(
    f"Mean absolute error of W_1 and W_2 computed by sorting n samples per side ({reps} replications per size), "
    "against the exact values. The W_1 error stays below the Bobkov–Ledoux bound and falls like 1/√n, the slope of "
    "the dashed line."))

# %% [markdown]
# ## 6. The paper's map $T(y) = F_Z^{[-1]}(F_Y(y))$
#
# The paper's operations produce components $Y$ whose law differs from the prior's $Z$; the matched operation applies
# $T = F_Z^{[-1]}\circ F_Y$ to each component. Three cases:
#
# 1. **Uniform prior, midpoint** $Y = (Z_1 + Z_2)/2$ with $Z_i \sim U[-1,1]$: $Y$ is triangular on $[-1,1]$ and
#    $T$ spreads it back to uniform (the closed form is Exercise 2).
# 2. **Gaussian prior, midpoint** $Y = (Z_1 + Z_2)/2 \sim N(0, 1/2)$: $T(y) = \sqrt2\, y$, a rescaling.
# 3. **Uniform prior, analogy** $Y = Z_3 + (Z_2 - Z_1)$, a sum of three uniforms: no scipy distribution, so $F_Y$ is the
#    *empirical* CDF of `n_sim` simulated outputs, and $T$ is applied to fresh, independent outputs.

# %%
prior_u = st.uniform(-1, 2)
y_mid = st.triang(c=0.5, loc=-1, scale=2)   # law of (Z1 + Z2) / 2, Z ~ U[-1, 1]
y_sim = prior_u.rvs(size=(2, cfg.n_sim), random_state=rng).mean(axis=0)
np.testing.assert_array_less(st.kstest(y_sim, y_mid.cdf).statistic, dkw(cfg.n_sim))  # the triangular law is right
pushed = transport1d.monotone_map(y_sim, y_mid, prior_u)
print(f"uniform midpoint: KS(T(Y), U[-1,1]) = {st.kstest(pushed, prior_u.cdf).statistic:.4f}")
assert st.kstest(pushed, prior_u.cdf).statistic < dkw(cfg.n_sim)

grid = np.linspace(-1, 1, cfg.grid)
fig, ax = tp.transport_map_figure(grid, y_mid.pdf(grid), grid, prior_u.pdf(grid),
                                  lambda g: transport1d.monotone_map(g, y_mid, prior_u), pushed=pushed,
                                  source_label="y = (z1 + z2)/2  (triangular)", target_label="prior U[-1, 1]",
                                  map_label="$T = F_Z^{-1}\\circ F_Y$")
study.savefig(fig, "map_uniform_midpoint", caption=(
    "The matched map for the midpoint of two uniform latents. Bottom: the triangular law of the midpoint. Middle: "
    "T (green) against the identity (dashed): it pushes values away from 0, most strongly near ±1/2. Left: the prior "
    f"density and the histogram of T(Y) for {cfg.n_sim:,} simulated midpoints (green), which is flat."))

# %%
prior_g = st.norm()
y_gmid = st.norm(0, math.sqrt(0.5))
g = np.linspace(-4, 4, cfg.grid)
np.testing.assert_allclose(transport1d.monotone_map(g, y_gmid, prior_g), math.sqrt(2) * g, rtol=1e-10, atol=1e-12)

# analogy with a uniform prior: F_Y estimated from simulated outputs, applied to fresh ones
z3 = prior_u.rvs(size=(3, cfg.n_sim), random_state=rng)
y_ana = z3[2] + z3[1] - z3[0]
y_fresh = (lambda z: z[2] + z[1] - z[0])(prior_u.rvs(size=(3, cfg.n_sim), random_state=rng))
pushed_ana = transport1d.monotone_map(y_fresh, y_ana, prior_u)
ks_ana = st.kstest(pushed_ana, prior_u.cdf).statistic
print(f"uniform analogy (empirical F_Y): KS(T(Y), U[-1,1]) = {ks_ana:.4f}, bound 2 x DKW = {2 * dkw(cfg.n_sim):.4f}")
assert ks_ana < 2 * dkw(cfg.n_sim)

fig, axes = plt.subplots(2, 2, figsize=(10, 6), gridspec_kw={"height_ratios": [1, 1.3]})
cases = [
    ("Gaussian prior, midpoint", g, y_gmid.pdf(g), prior_g.pdf(g), transport1d.monotone_map(g, y_gmid, prior_g),
     transport1d.monotone_map(y_gmid.rvs(cfg.n_sim, random_state=rng), y_gmid, prior_g)),
    ("uniform prior, analogy z3 + (z2 - z1)", np.linspace(-3, 3, cfg.grid), None, None,
     transport1d.monotone_map(np.linspace(-3, 3, cfg.grid), y_ana, prior_u), pushed_ana),
]
for col, (title, xg, pdf_y, pdf_z, Tg, pushed_c) in enumerate(cases):
    ax = axes[0, col]
    if pdf_y is not None:
        ax.plot(xg, pdf_y, color=method_color("linear"), label="operation output Y")
    else:
        ax.hist(y_ana, bins=120, density=True, histtype="step", color=method_color("linear"), label="operation output Y")
        pdf_z = prior_u.pdf(xg)
    ax.fill_between(xg, pdf_z, color=method_color("prior"), alpha=0.3, lw=0, label="prior Z")  # visible under T(Y)
    ax.hist(pushed_c, bins=120, density=True, histtype="step", ls="--", color=method_color("matched"), label="T(Y)")
    ax.set(title=title, ylim=(0, 1.5 * ax.get_ylim()[1]))
    ax.legend(fontsize="small", loc="upper left")
    ax = axes[1, col]
    ax.plot(xg, Tg, color=method_color("matched"), lw=2, label="T(y)")
    ax.plot(xg, xg, color="0.6", ls="--", lw=0.8, label="identity")
    ax.set(xlabel="y", ylabel="T(y)")
    ax.legend(fontsize="small")
study.savefig(fig, "maps_gaussian_and_analogy", caption=(
    "Top: the law of an operation's output (red), the prior (grey) and the matched output T(Y) (green), which lies on "
    "the prior. Bottom: the map. Left, Gaussian prior and midpoint: T(y) = √2·y, a straight line. Right, uniform prior "
    "and analogy: Y spreads over [−3, 3] and T squeezes it into [−1, 1] along an S-shaped curve; F_Y is here the "
    "empirical CDF of simulated outputs, so T is a fine staircase."))

# %% [markdown]
# ## Summary
#
# - The quantile function $F^{[-1]}(u) = \inf\{t : F(t)\ge u\}$ exists for every law; $F^{[-1]}(U)$ has law $F$ for
#   uniform $U$, and $F(X)$ is uniform when $F$ is continuous. Hence $T = F_Z^{[-1]}\circ F_Y$ pushes $Y$ onto $Z$ —
#   and with atoms no map can (notebook 02).
# - In one dimension sorting solves optimal transport for every convex cost $h(x-y)$: brute force over all
#   permutations never beat it, while a cost concave on each side of 0, such as $\sqrt{|d|}$, can.
# - The $\ell_1$ cost has many optimal plans ($2^{n-1}$ for $n$ shifted books); the monotone map is the one that is
#   optimal for all convex costs at once, and the unique one for strictly convex costs.
# - $W_p^p = \int_0^1 |F^{[-1]}_\mu - F^{[-1]}_\nu|^p$: two sorts. Mind that POT's `transport1d.wasserstein_1d` returns $W_p^p$.
# - The paper's map is this monotone map, component by component: a rescaling for Gaussian midpoints, an S-curve for
#   uniform priors.
#
# ## Exercises
#
# 1. **Concave costs.** Find two points per side for which sorting is *not* optimal for $h(d) = \sqrt{|d|}$, and
#    explain with the exchange argument why convexity is needed.
# 2. **A closed form.** For the uniform prior on $[-1,1]$ and the midpoint $Y = (Z_1+Z_2)/2$, derive $T(y)$ and check it
#    against `transport1d.monotone_map`.
# 3. **Gaussian $W_2$.** Show that $W_2^2\big(N(m_1,\sigma_1^2), N(m_2,\sigma_2^2)\big) = (m_1-m_2)^2 + (\sigma_1-\sigma_2)^2$
#    from the quantile formula, and check it on samples.
# 4. **Predict, then run.** The uniform prior on $[-1, 1]$ puts half of its mass in $[-\frac12, \frac12]$. What
#    fraction of the components of a linear midpoint $(Z_1 + Z_2)/2$ falls there: about 60 %, 75 % or 90 %? And after
#    the map $T$? Write both guesses down, then open the solution.
#
# ### Solutions
#
# <details><summary>Solution 1</summary>
#
# $x = \{0, 1\}$, $y = \{1, 2\}$: sorted costs $1 + 1 = 2$, crossed $\sqrt2 + 0 \approx 1.41$ (the concave-cost
# cell of section 3). In the exchange argument the crossed differences $a \le b, c \le d$ have the same sum as the
# uncrossed ones; for $h$ concave on $[0, \infty)$ (all four differences have one sign here) the inequality flips, $h(b)+h(c) \ge h(a)+h(d)$, so uncrossing can only hurt.
#
# </details>

# %% jupyter={"source_hidden": true} tags=["solution"]
h = lambda d: np.sqrt(np.abs(d))
print(f"sorted {h(np.array([0, 1]) - np.array([1, 2])).sum():.3f}  crossed {h(np.array([0, 1]) - np.array([2, 1])).sum():.3f}")

# %% [markdown]
# <details><summary>Solution 2</summary>
#
# $F_Y(y) = (1+y)^2/2$ on $[-1, 0]$ and $1 - (1-y)^2/2$ on $[0, 1]$; $F_Z^{-1}(u) = 2u - 1$. So
# $T(y) = (1+y)^2 - 1$ for $y \le 0$ and $T(y) = 1 - (1-y)^2$ for $y \ge 0$, i.e. $T(y) = \operatorname{sign}(y)\,\big(1-(1-|y|)^2\big)$.
# It fixes $0$ and $\pm1$ and has slope 2 at 0, where the triangular density is twice the uniform one.
#
# </details>

# %% jupyter={"source_hidden": true} tags=["solution"]
yy = np.linspace(-1, 1, 101)
T_closed = np.sign(yy) * (1 - (1 - np.abs(yy)) ** 2)
np.testing.assert_allclose(transport1d.monotone_map(yy, y_mid, prior_u), T_closed, atol=1e-12)
print("closed form matches transport1d.monotone_map on [-1, 1]")

# %% [markdown]
# <details><summary>Solution 3</summary>
#
# $F_i^{-1}(u) = m_i + \sigma_i\Phi^{-1}(u)$, so $W_2^2 = E\big[(m_1 - m_2 + (\sigma_1-\sigma_2)X)^2\big]$ with
# $X\sim N(0,1)$, which is $(m_1-m_2)^2 + (\sigma_1-\sigma_2)^2$ since $E X = 0$ and $E X^2 = 1$. A quadrature of the
# quantile formula agrees to its accuracy, and sorting samples to the sampling error:
#
# </details>

# %% jupyter={"source_hidden": true} tags=["solution"]
m1_, s1_, m2_, s2_ = 0.5, 1.0, -1.0, 3.0
w2_closed = math.hypot(m1_ - m2_, s1_ - s2_)
w2_quad = math.sqrt(quad(lambda u: (st.norm.ppf(u, m1_, s1_) - st.norm.ppf(u, m2_, s2_)) ** 2, 0, 1, limit=200)[0])
w2_samples = transport1d.wasserstein_1d(rng.normal(m1_, s1_, cfg.n_sim), rng.normal(m2_, s2_, cfg.n_sim), p=2)
print(f"closed form {w2_closed:.6f}, quadrature {w2_quad:.6f}, from {cfg.n_sim:,} samples per side {w2_samples:.4f}")
np.testing.assert_allclose(w2_quad, w2_closed, rtol=1e-7)
np.testing.assert_allclose(kantorovich.gaussian_w2(m1_, s1_**2, m2_, s2_**2), w2_closed, rtol=1e-12)

# %% [markdown]
# <details><summary>Solution 4</summary>
#
# 75 %, then 50 %. The midpoint has the triangular density $1 - |y|$, so
# $P(|Y| > \frac12) = 2\int_{1/2}^1 (1-y)\,dy = \frac14$: three quarters of its mass crowds into the middle half of
# the interval — the "midpoints are too close to the centre" of the paper, in one dimension. $T$ is increasing, so
# $T(Y)$ lies in $[-T(\frac12), T(\frac12)] = [-\frac34, \frac34]$ exactly when $Y$ lies in $[-\frac12, \frac12]$;
# $T(Y)$ is uniform, so that is again 75 % — of a wider interval — and $[-\frac12, \frac12]$ holds 50 %, as for the
# prior. The cell checks both on samples.
#
# </details>

# %% jupyter={"source_hidden": true} tags=["solution"]
z1_, z2_ = rng.uniform(-1, 1, cfg.n_sim), rng.uniform(-1, 1, cfg.n_sim)
mid_ = (z1_ + z2_) / 2
matched_ = transport1d.monotone_map(mid_, y_mid, prior_u)
inside = {"prior": np.mean(np.abs(z1_) <= 0.5), "linear midpoint": np.mean(np.abs(mid_) <= 0.5),
          "T(midpoint)": np.mean(np.abs(matched_) <= 0.5)}
print({name: f"{v:.1%}" for name, v in inside.items()}, f"in [-1/2, 1/2], {cfg.n_sim:,} samples")
tol = 5 / math.sqrt(cfg.n_sim)
assert abs(inside["linear midpoint"] - 0.75) < tol and abs(inside["T(midpoint)"] - 0.5) < tol
assert abs(np.mean(np.abs(matched_) <= 0.75) - 0.75) < tol
