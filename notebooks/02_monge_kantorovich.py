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
# # 02 — Monge and Kantorovich
#
# The paper asks for the *minimal* change $\tilde y = f(y)$ of a latent operation's output that gives it the prior's
# law: a transport problem. It states it in Monge's form (find a map) and Kantorovich's form (find a coupling), and
# its Theorem 1 reduces both, for i.i.d. latent components and an additive cost, to one-dimensional problems
# (notebook 01). This notebook sets up the two problems on small discrete examples, solves Kantorovich's as a linear
# program, and checks the decomposition theorem numerically.
#
# **What you will learn**
# - Monge's problem, and a case where it has no solution at all (one Dirac to two);
# - Kantorovich's relaxation as a linear program — solved with HiGHS, drawn as a coupling matrix and as lines
#   between point clouds, and cross-checked against POT;
# - duality, and the Kantorovich–Rubinstein form of $W_1$: the objective of a Wasserstein GAN's critic;
# - entropic regularisation (Sinkhorn) and how its plan approaches the LP plan as the regularisation vanishes;
# - the decomposition theorem: for i.i.d. components and an additive cost, the product of 1-D plans is optimal in 2-D.

# %% tags=["parameters"]
preset = "cpu"  # smoke | cpu | paper
seed = 0

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import ot
import pandas as pd
from scipy.optimize import linear_sum_assignment, linprog

import otlatent
from otlatent import kantorovich, transport1d
from otlatent.plots import method_color
from otlatent.plots import transport as tp

study = otlatent.start("02_monge_kantorovich", preset=preset, seed=seed)
cfg = study.preset
rng = study.rng

# %% [markdown]
# ## 1. Monge's problem, and a case with no map
#
# Given laws $\mu$ (the source, e.g. the law of an operation's output) and $\nu$ (the target, the prior) and a cost
# $c(x, y)$, **Monge's problem** is
#
# $$\min_{T}\ \int c\big(x, T(x)\big)\,d\mu(x) \quad\text{subject to}\quad T_\#\mu = \nu,$$
#
# one destination $T(x)$ per source point. It can be *infeasible*: for $\mu = \delta_0$ and
# $\nu = \frac12\delta_{-1} + \frac12\delta_1$, any map sends all of the mass at 0 to the single point $T(0)$, so
# $T_\#\mu = \delta_{T(0)} \ne \nu$. No admissible map exists, let alone an optimal one.
#
# **Kantorovich's problem** lets mass split: find a *coupling* $\pi$ on $X \times Y$ with marginals $\mu$ and $\nu$,
#
# $$\min_{\pi \in \Pi(\mu,\nu)} \int c(x,y)\,d\pi(x,y).$$
#
# A map $T$ gives the coupling $(\mathrm{id}, T)_\#\mu$, so Kantorovich's minimum is never larger; and $\Pi(\mu,\nu)$ is
# never empty (it contains $\mu\otimes\nu$). For discrete laws it is a linear program, solved below with
# `otlatent.kantorovich.kantorovich` (scipy's HiGHS); `kantorovich.monge_map_from_plan` reads a map off a plan when no row splits.

# %%
# NBVAL_CHECK_OUTPUT
split = kantorovich.kantorovich([1.0], [0.5, 0.5], [[1.0, 1.0]])   # delta_0 -> (delta_-1 + delta_1)/2, cost |x - y|
print("one Dirac to two: plan", split.plan.round(3).tolist(), " cost", round(split.cost, 3))
try:
    kantorovich.monge_map_from_plan(split.plan)
except ValueError as err:
    print("  no map:", err)
merge = kantorovich.kantorovich([0.5, 0.5], [1.0], [[1.0], [1.0]])  # and back: two Diracs to one
print("two Diracs to one: plan", merge.plan.round(3).tolist(), " map", kantorovich.monge_map_from_plan(merge.plan).tolist())

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 2.6), sharey=True)
for ax, (xs, a, ys, b, plan, title) in zip(axes, [
        ([0.0], [1.0], [-1.0, 1.0], [0.5, 0.5], split.plan, "δ₀ → ½δ₋₁ + ½δ₁: no map, the plan splits"),
        ([-1.0, 1.0], [0.5, 0.5], [0.0], [1.0], merge.plan, "½δ₋₁ + ½δ₁ → δ₀: the map T ≡ 0")]):
    tp.draw_plan_lines(ax, xs, ys, plan)
    ax.scatter(xs, np.ones(len(xs)), s=400 * np.array(a), color=method_color("linear"), zorder=3, label="source μ")
    ax.scatter(ys, np.zeros(len(ys)), s=400 * np.array(b), color=method_color("prior"), zorder=3, marker="s",
               label="target ν")
    ax.set(title=title, xlim=(-1.6, 1.6), ylim=(-0.3, 1.3), yticks=[0, 1], yticklabels=["ν", "μ"])
axes[0].legend(loc="lower center", fontsize="small", markerscale=0.5, ncol=2)
study.savefig(fig, "no_monge_map", caption=(
    "Marker area is mass; line width is the mass a plan moves. Left: a single Dirac cannot be split by a map, but a "
    "coupling sends half of it each way. Right: the reverse problem has a map (both atoms go to 0)."))

# %% [markdown]
# ## 2. Kantorovich's problem as a linear program
#
# With $\mu = \sum_i a_i\delta_{x_i}$ ($n$ atoms), $\nu = \sum_j b_j\delta_{y_j}$ ($m$ atoms) and $C_{ij} = c(x_i, y_j)$,
#
# $$\min_{P \in \mathbb R_{\ge 0}^{n\times m}} \sum_{ij} C_{ij}P_{ij} \quad\text{s.t.}\quad P\mathbf 1 = a,\ \ P^\top\mathbf 1 = b:$$
#
# $nm$ unknowns, $n + m$ equality constraints (one redundant, since both sides sum to 1). HiGHS returns a *vertex* of the
# feasible polytope, and a vertex has at most $n + m - 1$ non-zero entries: an optimal plan is sparse, whatever
# $n \times m$ is.
#
# The example: `n_lp` source points from a standard Gaussian in 2-D with random masses, and `n_lp` target points of
# equal mass on a noisy ring; squared Euclidean cost. The same LP is then solved with POT's network simplex (`ot.emd`).

# %%
n = cfg.n_lp
X = rng.normal(size=(n, 2))
theta = rng.uniform(0, 2 * np.pi, n)
Y = np.c_[4 + 1.5 * np.cos(theta), 1.5 * np.sin(theta)] + rng.normal(0, 0.1, (n, 2))
a = rng.dirichlet(np.full(n, 2.0))
b = np.full(n, 1 / n)
C = ot.dist(X, Y)  # squared Euclidean

lp = kantorovich.kantorovich(a, b, C)
P_pot = ot.emd(a, b, C)
support = int((lp.plan > 1e-12).sum())
print(f"LP cost (HiGHS) {lp.cost:.10f} | ot.emd2 {ot.emd2(a, b, C):.10f} | "
      f"max |P_HiGHS - P_POT| {np.abs(lp.plan - P_pot).max():.1e}")
print(f"non-zeros in the plan: {support} of {n * n} (a vertex has at most n + m - 1 = {2 * n - 1})")
print(f"marginal errors: rows {np.abs(lp.plan.sum(1) - a).max():.1e}, columns {np.abs(lp.plan.sum(0) - b).max():.1e}")
np.testing.assert_allclose(lp.cost, ot.emd2(a, b, C), rtol=1e-9)
np.testing.assert_allclose(lp.plan, P_pot, atol=1e-9)  # random costs: the optimal plan is unique
np.testing.assert_allclose(lp.plan.sum(1), a, atol=1e-12)
np.testing.assert_allclose(lp.plan.sum(0), b, atol=1e-12)
assert support <= 2 * n - 1
rows_split = int(((lp.plan > 1e-12).sum(1) > 1).sum())
print(f"source points whose mass is split between several targets: {rows_split} of {n}")

# %%
fig = tp.coupling_figure(lp.plan, a, b, x=X[:, 1], y=Y[:, 1], order="vertical coordinate",
                         title=f"optimal plan, {n} × {n}: {support} non-zero entries")
study.savefig(fig, "coupling_matrix", caption=(
    f"The optimal coupling P of the LP as a matrix (darker: more mass), rows and columns both ordered by the "
    f"points' second (vertical) coordinate, which the transport from the cloud to the ring roughly keeps, so the "
    f"mass runs along the diagonal. The bars are the marginals: random source masses a "
    f"(left) and equal target masses b = 1/{n} (top). Every row sums to its bar, every column to its bar; only "
    f"{support} of {n * n} entries are non-zero."))

# %%
fig, ax = plt.subplots(figsize=(7.5, 4.2))
tp.draw_plan_lines(ax, X, Y, lp.plan)
ax.scatter(*X.T, s=2000 * a, color=method_color("linear"), zorder=3, label="source μ (area ∝ mass)")
ax.scatter(*Y.T, s=2000 * b, color=method_color("prior"), marker="s", zorder=3, label="target ν")
ax.set_aspect("equal")
ax.legend(loc="upper left", fontsize="small")
ax.set(title="optimal plan for the squared Euclidean cost")
study.savefig(fig, "plan_lines", caption=(
    f"The same plan as lines between the point clouds, opacity and width proportional to the mass moved. "
    f"Heavy source points split their mass between several targets ({rows_split} of {n} source points split), "
    "which no Monge map could do; the left side of the Gaussian cloud goes to the near side of the ring."))

# %% [markdown]
# **Equal masses give a permutation.** With $n = m$ and $a = b = \frac1n\mathbf 1$ the feasible set is $\frac1n$ times the
# Birkhoff polytope of doubly stochastic matrices, whose vertices are permutation matrices (Birkhoff–von Neumann). The
# LP's vertex solution is then a Monge map: Kantorovich's and Monge's problems coincide. We read the permutation off
# the plan and compare it with the Hungarian algorithm (`scipy.optimize.linear_sum_assignment`).

# %%
u_n = np.full(n, 1 / n)
perm_plan = kantorovich.kantorovich(u_n, u_n, C)
T = kantorovich.monge_map_from_plan(perm_plan.plan)
rows, cols = linear_sum_assignment(C)
assert np.array_equal(np.sort(T), np.arange(n)), "the plan is a permutation"
assert np.array_equal(T[rows], cols)
print(f"equal masses: the plan is a permutation matrix / {n}, identical to the Hungarian assignment; "
      f"cost {perm_plan.cost:.6f} = {C[rows, cols].mean():.6f}")

# %% [markdown]
# ## 3. Duality and the Kantorovich–Rubinstein form of $W_1$
#
# The dual of the transport LP is
#
# $$\max_{u \in \mathbb R^n,\ v \in \mathbb R^m}\ a^\top u + b^\top v \quad\text{s.t.}\quad u_i + v_j \le C_{ij},$$
#
# with equal optimal values (strong duality) and *complementary slackness*: $P_{ij} > 0 \Rightarrow u_i + v_j = C_{ij}$.
# HiGHS returns the dual potentials with the plan; we check all three facts on the 2-D example.

# %%
slack = C - lp.u[:, None] - lp.v[None, :]
print(f"primal {lp.cost:.10f}  dual a·u + b·v {a @ lp.u + b @ lp.v:.10f}")
print(f"min slack C - u - v: {slack.min():.1e} (>= 0: feasible);  max slack on the plan's support: "
      f"{slack[lp.plan > 1e-12].max():.1e} (= 0: complementary)")
np.testing.assert_allclose(a @ lp.u + b @ lp.v, lp.cost, rtol=1e-9)
assert slack.min() >= -1e-9 and np.abs(slack[lp.plan > 1e-12]).max() <= 1e-9

# %% [markdown]
# **Kantorovich–Rubinstein.** When the cost is a distance, $c(x,y) = |x - y|$, the dual can be taken with $v = -u$ and
# $u$ 1-Lipschitz, which gives
#
# $$W_1(\mu,\nu) = \max_{\|f\|_{\rm Lip} \le 1}\ \mathbb E_{\mu} f - \mathbb E_{\nu} f .$$
#
# This is the objective of a **Wasserstein GAN**: the critic network $f$ is kept (approximately) 1-Lipschitz — by
# weight clipping or a gradient penalty — and trained to maximise $\mathbb E_{\rm data} f - \mathbb E_{\rm generated} f$,
# an estimate of $W_1$ between the data and the generator.
#
# On the line the maximiser is explicit. Integrating by parts, $\mathbb E_\mu f - \mathbb E_\nu f = \int f'(t)\,
# \big(F_\nu(t) - F_\mu(t)\big)\,dt$, so the best critic has slope $f' = \operatorname{sign}(F_\nu - F_\mu)$ and the value
# is $\int |F_\mu - F_\nu|\,dt = W_1$. We compare three numbers on `n_lp` samples from $N(0,1)$ and from a two-bump
# mixture: the primal LP with cost $|x-y|$, the KR dual solved as its own LP over the values of $f$ at the sample
# points (constraints $|f(z_{k+1}) - f(z_k)| \le z_{k+1} - z_k$ between sorted neighbours, which is enough on a
# line), and $W_1$ by sorting.

# %%
xs1 = rng.normal(size=n)
ys1 = np.where(rng.uniform(size=n) < 0.5, -2.0, 2.0) + 0.5 * rng.normal(size=n)
w1_sort = transport1d.wasserstein_1d(xs1, ys1, p=1)
w1_primal = kantorovich.kantorovich(u_n, u_n, np.abs(xs1[:, None] - ys1[None, :])).cost

z = np.concatenate([xs1, ys1])
order = np.argsort(z)
z = z[order]
signed_mass = np.concatenate([u_n, -u_n])[order]       # mu - nu at each point
N = z.size
D = np.zeros((N - 1, N))
D[np.arange(N - 1), np.arange(N - 1)], D[np.arange(N - 1), np.arange(1, N)] = -1, 1
gaps = np.diff(z)
kr = linprog(-signed_mass, A_ub=np.vstack([D, -D]), b_ub=np.concatenate([gaps, gaps]),
             bounds=[(0, 0)] + [(None, None)] * (N - 1), method="highs")
f_lp = kr.x
F_mu = transport1d.empirical_cdf(xs1, z)
F_nu = transport1d.empirical_cdf(ys1, z)
f_closed = np.concatenate([[0.0], np.cumsum(np.sign(F_nu - F_mu)[:-1] * gaps)])  # slope sign(F_nu - F_mu)
print(f"W_1 by sorting {w1_sort:.10f} | primal LP {w1_primal:.10f} | KR dual LP {-kr.fun:.10f} | "
      f"closed-form critic {signed_mass @ f_closed:.10f}")
np.testing.assert_allclose([w1_primal, -kr.fun, signed_mass @ f_closed], w1_sort, rtol=1e-9)
assert np.all(np.abs(np.diff(f_lp)) <= gaps + 1e-9), "the LP critic is 1-Lipschitz"

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
tp.step_cdf(axes[0], xs1, color=method_color("linear"), label="$F_\\mu$, N(0,1)", dots=False)
tp.step_cdf(axes[0], ys1, color=method_color("prior"), label="$F_\\nu$, two bumps", dots=False)
axes[0].fill_between(z, F_mu, F_nu, step="post", color=method_color("matched"), alpha=0.25,
                     label="area = $W_1$")
axes[0].set(xlabel="t", title="$W_1 = \\int |F_\\mu - F_\\nu|\\,dt$")
axes[0].legend(fontsize="small", loc="upper left")
axes[1].plot(z, f_closed, color=method_color("matched"), lw=2.5, label="slope sign($F_\\nu - F_\\mu$)")
axes[1].plot(z, f_lp, color="0.2", lw=1, ls="--", label="KR dual LP")
axes[1].plot(xs1, np.interp(xs1, z, f_closed), "|", color=method_color("linear"), ms=10, label="samples of μ")
axes[1].plot(ys1, np.interp(ys1, z, f_closed), "|", color=method_color("prior"), ms=10, label="samples of ν")
axes[1].set(xlabel="t", ylabel="f(t)", title=f"optimal 1-Lipschitz critic: E_μ f − E_ν f = {w1_sort:.3f}")
axes[1].legend(fontsize="small")
study.savefig(fig, "kantorovich_rubinstein", caption=(
    "Left: W_1 is the area between the two CDFs. Right: an optimal critic of the Kantorovich–Rubinstein dual. It "
    "rises with slope 1 where F_ν > F_μ and falls where F_ν < F_μ, so it is high where μ has more mass than ν "
    "(around 0) and low on the two bumps of ν; the LP solution (dashed) and the closed form reach the same value W_1, "
    "and coincide except where the CDFs are equal and the slope is free."))

# %% [markdown]
# ## 4. Entropic regularisation and Sinkhorn
#
# Adding an entropy term makes the problem strictly convex and fast to solve:
#
# $$P_\varepsilon = \arg\min_{P \in \Pi(a,b)} \langle C, P\rangle - \varepsilon H(P), \qquad H(P) = -\sum_{ij} P_{ij}\log P_{ij}.$$
#
# Its solution has the form $P_\varepsilon = \operatorname{diag}(e^{f/\varepsilon})\, e^{-C/\varepsilon}\,
# \operatorname{diag}(e^{g/\varepsilon})$, and Sinkhorn's algorithm finds $f, g$ by alternately fitting the row and
# column sums (here in the log domain, `ot.sinkhorn(..., method="sinkhorn_log")`, stable for small $\varepsilon$).
# As $\varepsilon \to 0$ the plan sharpens towards the LP plan. Comparing $P_\varepsilon$ with the LP optimum
# $P^\star$ in the regularised objective gives a bound on the cost gap,
#
# $$0 \le \langle C, P_\varepsilon\rangle - \langle C, P^\star\rangle \le \varepsilon\big(H(P_\varepsilon) - H(P^\star)\big)
#   \le \varepsilon \log(nm),$$
#
# and $\langle C, P_\varepsilon\rangle$ can only decrease as $\varepsilon$ decreases. The cost is rescaled to
# $\max C = 1$ so that $\varepsilon$ is relative to it.

# In the log domain, with potentials $f, g$ and $\operatorname{LSE}$ the log-sum-exp, one Sinkhorn iteration is
#
# $$f_i \leftarrow \varepsilon\log a_i - \varepsilon \operatorname{LSE}_j\big((g_j - C_{ij})/\varepsilon\big), \qquad
#   g_j \leftarrow \varepsilon\log b_j - \varepsilon \operatorname{LSE}_i\big((f_i - C_{ij})/\varepsilon\big),$$
#
# each update making one marginal exact; $P_{ij} = e^{(f_i + g_j - C_{ij})/\varepsilon}$. Written out, and checked
# against POT:

# %%
from scipy.special import logsumexp


def sinkhorn_log(a, b, C, eps, iterations):
    """Log-domain Sinkhorn: alternately fit the row sums (f) and the column sums (g)."""
    f, g = np.zeros_like(a), np.zeros_like(b)
    for _ in range(iterations):
        f = eps * np.log(a) - eps * logsumexp((g[None, :] - C) / eps, axis=1)
        g = eps * np.log(b) - eps * logsumexp((f[:, None] - C) / eps, axis=0)
    return np.exp((f[:, None] + g[None, :] - C) / eps)


Cn = C / C.max()
P_ours = sinkhorn_log(a, b, Cn, 0.05, 2000)
P_pot05 = ot.sinkhorn(a, b, Cn, 0.05, method="sinkhorn_log", numItermax=50_000, stopThr=1e-12)
print(f"ε = 0.05: max |P_ours - P_POT| = {np.abs(P_ours - P_pot05).max():.1e}, "
      f"column error {np.abs(P_ours.sum(0) - b).max():.1e}, row error {np.abs(P_ours.sum(1) - a).max():.1e}")
np.testing.assert_allclose(P_ours, P_pot05, atol=1e-9)

# %%
lp_n = kantorovich.kantorovich(a, b, Cn)
regs = np.array([1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003])
plans, records = {}, []
for reg in regs:
    P = ot.sinkhorn(a, b, Cn, reg, method="sinkhorn_log", numItermax=50_000, stopThr=1e-10)
    plans[reg] = P
    records.append({"epsilon": reg, "cost gap": (P * Cn).sum() - lp_n.cost, "bound eps·log(nm)": reg * math.log(n * n),
                    "|P_eps - P*|_1": np.abs(P - lp_n.plan).sum(),
                    "marginal error": max(np.abs(P.sum(1) - a).max(), np.abs(P.sum(0) - b).max())})
sk = pd.DataFrame(records).set_index("epsilon")
print(sk.to_string(float_format=lambda v: f"{v:.2e}"))
assert (sk["marginal error"] < 1e-8).all()
assert (sk["cost gap"] >= -1e-9).all() and (sk["cost gap"] <= sk["bound eps·log(nm)"] + 1e-9).all()
assert (np.diff(sk["cost gap"].to_numpy()) <= 1e-9).all(), "the transport cost decreases with epsilon"
assert sk["|P_eps - P*|_1"].iloc[-1] < sk["|P_eps - P*|_1"].iloc[0]

# %%
show = [0.1, 0.01, 0.0003]
fig, axes = plt.subplots(1, len(show) + 2, figsize=(15, 3.3),
                         gridspec_kw={"width_ratios": [1] * (len(show) + 1) + [1.5]})
ri, cj = np.argsort(X[:, 1]), np.argsort(Y[:, 1])  # both by the vertical coordinate, as in the coupling figure
for ax, (title, P) in zip(axes, [(f"Sinkhorn ε = {r:g}", plans[r]) for r in show] + [("LP (ε = 0)", lp_n.plan)]):
    ax.imshow(P[np.ix_(ri, cj)], cmap="Greens", aspect="auto", interpolation="nearest", vmin=0)
    ax.set(title=title, xticks=[], yticks=[])
ax = axes[-1]
ax.loglog(sk.index, sk["cost gap"], "o-", color=method_color("matched"), label="cost gap ⟨C, P_ε − P*⟩")
ax.loglog(sk.index, sk["bound eps·log(nm)"], "--", color="0.4", label="bound ε log(nm)")
ax.loglog(sk.index, sk["|P_eps - P*|_1"], "s-", color=method_color("slerp"), label="‖P_ε − P*‖₁")
ax.set(xlabel="ε (relative to max C)")
ax.legend(fontsize="small")
study.savefig(fig, "sinkhorn", caption=(
    "Entropic plans for decreasing ε, rows and columns ordered as in the coupling-matrix figure, next to the LP plan. "
    "Large ε blurs the plan over many entries; as ε shrinks it concentrates on the LP plan's support. Right: the cost "
    "gap stays under the bound ε·log(nm) and vanishes with ε; the plan itself converges more slowly (L1 distance)."))

# %% [markdown]
# ## 5. The decomposition theorem, checked in 2-D
#
# **Theorem 1 of the paper.** If $\mu$ and $\nu$ on $\mathbb R^d$ have i.i.d. components, $\mu = \mu_1^{\otimes d}$,
# $\nu = \nu_1^{\otimes d}$, and the cost is additive, $c(x,y) = \sum_k C(x^{(k)}, y^{(k)})$, then the product
# $\pi_1^{\otimes d}$ of an optimal 1-D plan $\pi_1$ between $\mu_1$ and $\nu_1$ is optimal, with cost $d$ times the
# 1-D cost. (The product is feasible; its cost is $\sum_k \int C\,d\pi_1$; and any coupling $\pi$ of $\mu, \nu$ has
# marginals $\pi^{(k)} \in \Pi(\mu_1,\nu_1)$, so $\int c\,d\pi = \sum_k \int C\,d\pi^{(k)} \ge d\,\min_{\Pi(\mu_1,\nu_1)}$.)
# This is what lets the paper treat each latent component separately.
#
# **Check.** $\mu_1$: $k = \lfloor\sqrt{n_{lp}}\rfloor$ random atoms with random masses, $\nu_1$: $k$ other atoms, some
# left and some right of all of $\mu_1$'s (so that $F_{\mu_1} - F_{\nu_1}$ changes sign and not every $\ell_1$ plan is
# optimal); the
# 2-D laws live on $k \times k$ grids of $k^2$ points. We solve the full 2-D LP ($k^4$ unknowns) and compare it with
# the product of the 1-D plans, for the paper's $\ell_1$ cost and for the squared Euclidean cost.

# %%
k = int(math.isqrt(cfg.n_lp))
x1 = np.sort(rng.normal(size=k))
# nu_1's atoms on both sides of mu_1's, so that F_mu1 - F_nu1 changes sign and the l1 check can fail
y1 = np.sort(np.r_[x1.min() - rng.uniform(0.2, 1.5, k - k // 2), x1.max() + rng.uniform(0.2, 1.5, k // 2)])
a1, b1 = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
grid_x = np.array([(s, t) for s in x1 for t in x1])   # index i*k + j  <->  (x1[i], x1[j])
grid_y = np.array([(s, t) for s in y1 for t in y1])
a2, b2 = np.kron(a1, a1), np.kron(b1, b1)             # i.i.d. components: product masses
results = []
for name, metric in [("l1 (paper)", "cityblock"), ("squared l2", "sqeuclidean")]:
    C1 = ot.dist(x1[:, None], y1[:, None], metric=metric)
    C2 = ot.dist(grid_x, grid_y, metric=metric)       # additive over the two coordinates
    plan_1d = kantorovich.kantorovich(a1, b1, C1)
    product = np.kron(plan_1d.plan, plan_1d.plan)       # (pi_1 x pi_1)[(i,j),(k,l)] = pi_1[i,k] pi_1[j,l]
    full = kantorovich.kantorovich(a2, b2, C2)
    worst = -kantorovich.kantorovich(a2, b2, -C2).cost  # the most expensive coupling, for scale
    results.append({"cost": name, "1-D cost": plan_1d.cost, "2 x 1-D cost": 2 * plan_1d.cost,
                    "product plan cost": (product * C2).sum(), "2-D LP cost": full.cost,
                    "independent coupling cost": float(a2 @ C2 @ b2), "worst coupling cost": worst,
                    "product marginal error": max(np.abs(product.sum(1) - a2).max(), np.abs(product.sum(0) - b2).max()),
                    "plans equal": bool(np.allclose(product, full.plan, atol=1e-9))})
    np.testing.assert_allclose(product.sum(1), a2, atol=1e-12)
    np.testing.assert_allclose(product.sum(0), b2, atol=1e-12)
    np.testing.assert_allclose((product * C2).sum(), full.cost, rtol=1e-9)
    np.testing.assert_allclose(full.cost, 2 * plan_1d.cost, rtol=1e-9)
    assert a2 @ C2 @ b2 > full.cost + 1e-6 and worst > full.cost + 1e-6, "a real test: other couplings cost more"
    if metric == "sqeuclidean":
        sq_product, sq_full = product, full.plan
decomp = pd.DataFrame(results).set_index("cost")
study.save_table(decomp, "decomposition_2d", caption=(
    f"Decomposition theorem on a {k}×{k} grid ({k * k} points per side, {k ** 4} LP unknowns): the product of the 1-D "
    "plans has exactly the marginals of the 2-D laws and the optimal 2-D cost, twice the 1-D cost."), floatfmt=".8g")

# %% [markdown]
# The costs agree to solver precision for both costs, and the check has teeth: the independent coupling and the worst
# coupling cost much more (the laws overlap; had every source atom lain left of every target atom, as in an earlier
# version of this check, every coupling would have had the same $\ell_1$ cost $\mathbb E[y] - \mathbb E[x]$). The
# plans themselves need not be equal (column "plans equal"): with an additive cost, *any* coupling whose two
# component couplings are optimal 1-D plans is optimal, the product is only one of them, and HiGHS may return
# another vertex of the optimal face. The $\ell_1$ cost adds its own non-uniqueness even in 1-D: every plan that
# moves no mass against the sign of $F_\mu - F_\nu$ costs $\int |F_\mu - F_\nu|\,dt$, the optimum, so whenever one law
# lies entirely to the left of the other *every* coupling is optimal (notebook 01's shifted books).

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharex=True, sharey=True)
for ax, P, title in [(axes[0], sq_product, "product of the 1-D plans"), (axes[1], sq_full, "2-D LP plan")]:
    tp.draw_plan_lines(ax, grid_x, grid_y, P)
    ax.scatter(*grid_x.T, s=250 * a2 / a2.max(), color=method_color("linear"), zorder=3, label="μ = μ₁ ⊗ μ₁")
    ax.scatter(*grid_y.T, s=250 * b2 / b2.max(), color=method_color("prior"), marker="s", zorder=3,
               label="ν = ν₁ ⊗ ν₁")
    ax.set(title=f"{title}: cost {(P * ot.dist(grid_x, grid_y)).sum():.4f}", xlabel="component 1")
    ax.set_aspect("equal")
axes[0].set_ylabel("component 2")
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize="small", bbox_to_anchor=(0.5, -0.04))
study.savefig(fig, "decomposition_2d", caption=(
    f"Squared Euclidean cost between two product laws on {k}×{k} grids (marker area ∝ mass; the source μ in the "
    "middle, the target ν in the four corners around it, since ν₁'s atoms lie on both sides of μ₁'s). Left: the product of the optimal 1-D plans, built component by component. Right: the plan "
    "of the full 2-D linear program. Their costs are equal (the table above): solving d one-dimensional problems is "
    "enough. Where the two pictures differ, the optimum is not unique."))

# %% [markdown]
# **Beyond product laws: Gaussians.** For Gaussians the squared-cost map is affine, $T(x) = m_2 + A(x - m_1)$ with
# $A = \Sigma_1^{-1/2}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}\Sigma_1^{-1/2}$ (`kantorovich.gaussian_map`). When both
# covariances are multiples of the identity — i.i.d. components, the paper's Gaussian prior and the output of a linear
# interpolation — $A$ is diagonal and $T$ acts component by component, as the decomposition theorem says; with
# correlated components it mixes them.

# %%
# NBVAL_CHECK_OUTPUT
midpoint = kantorovich.gaussian_map(np.zeros(2), 0.5 * np.eye(2), np.zeros(2), np.eye(2))  # N(0, I/2) -> N(0, I)
print("i.i.d. components, A =", midpoint.A.round(4).tolist())
correlated = kantorovich.gaussian_map(np.zeros(2), np.array([[1.0, 0.8], [0.8, 1.0]]), np.zeros(2), np.eye(2))
print("correlated source, A =", correlated.A.round(4).tolist())
print("A Σ1 A = Σ2:", np.allclose(correlated.A @ np.array([[1.0, 0.8], [0.8, 1.0]]) @ correlated.A, np.eye(2)))

# %% [markdown]
# ## Summary
#
# - Monge's problem looks for a map and can be infeasible (a Dirac cannot be split); Kantorovich's relaxation looks
#   for a coupling, always has one, and for discrete laws is a linear program whose vertex solutions have at most
#   $n + m - 1$ non-zeros. With equal uniform masses the LP returns a permutation, i.e. a Monge map.
# - HiGHS (`otlatent.kantorovich.kantorovich`) and POT's network simplex agree on plan and cost; the HiGHS duals satisfy strong
#   duality and complementary slackness.
# - For the cost $|x-y|$ the dual is the Kantorovich–Rubinstein formula $W_1 = \max_{\rm 1-Lip} \mathbb E_\mu f - \mathbb E_\nu f$,
#   the objective of a WGAN critic; on the line the best critic has slope $\operatorname{sign}(F_\nu - F_\mu)$.
# - Sinkhorn's entropic plans approach the LP plan as $\varepsilon \to 0$; the cost gap is below $\varepsilon\log(nm)$.
# - For i.i.d. components and an additive cost the product of 1-D plans is optimal (Theorem 1): checked on 2-D grids
#   for the $\ell_1$ and squared costs. Together with notebook 01 this is the whole justification of the paper's
#   component-wise matched operations.
#
# ## Exercises
#
# 1. **When does a discrete plan split?** For $\mu = \frac12\delta_0 + \frac12\delta_1$ and $\nu = \frac13\delta_0 + \frac23\delta_1$
#    with cost $|x-y|$, find the optimal plan by hand and say whether a Monge map exists.
# 2. **The entropic gap.** Prove $\langle C, P_\varepsilon\rangle - \langle C, P^\star\rangle \le \varepsilon\log(nm)$ and check it
#    for a random $5\times 7$ problem at $\varepsilon = 0.05$.
# 3. **Dependent components.** Let $\mu = \mu_1\otimes\mu_1$ as in section 5 but let $\nu$ put its mass on the diagonal,
#    $\nu = \sum_j b_j\,\delta_{(y_j, y_j)}$ (both components equal). Does the product of 1-D plans still work?
# 4. **Predict, then run.** With the normalised cost of section 4 (largest entry 1), take $\varepsilon = 1$. In cost,
#    how far has the entropic plan moved from the optimal plan towards the independent coupling $a b^\top$ (the plan
#    that ignores the cost): about 5 %, 50 % or 95 % of the way? Write your guess down, then run the hidden cell.
#
# ### Solutions
#
# <details><summary>Solution 1</summary>
#
# Mass $\frac13$ stays at 0 and mass $\frac12$ stays at 1; the remaining $\frac16$ at 0 must go to 1, cost $\frac16$.
# The atom at 0 is split (between 0 and 1), so no map exists; the LP agrees.
#
# </details>

# %% jupyter={"source_hidden": true} tags=["solution"]
ex1 = kantorovich.kantorovich([0.5, 0.5], [1 / 3, 2 / 3], [[0.0, 1.0], [1.0, 0.0]])
print("plan", ex1.plan.round(4).tolist(), "cost", round(ex1.cost, 6))
np.testing.assert_allclose(ex1.plan, [[1 / 3, 1 / 6], [0, 1 / 2]], atol=1e-12)
try:
    kantorovich.monge_map_from_plan(ex1.plan)
except ValueError as err:
    print("no map:", err)

# %% [markdown]
# <details><summary>Solution 2</summary>
#
# $P_\varepsilon$ minimises $\langle C, P\rangle - \varepsilon H(P)$, so
# $\langle C, P_\varepsilon\rangle - \varepsilon H(P_\varepsilon) \le \langle C, P^\star\rangle - \varepsilon H(P^\star)$, i.e.
# $\langle C, P_\varepsilon - P^\star\rangle \le \varepsilon\big(H(P_\varepsilon) - H(P^\star)\big) \le \varepsilon H(P_\varepsilon)
# \le \varepsilon\log(nm)$, since $H \ge 0$ and $H$ is at most the entropy of the uniform law on $nm$ cells.
#
# </details>

# %% jupyter={"source_hidden": true} tags=["solution"]
a5, b7 = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(7))
C57 = rng.uniform(size=(5, 7))
P_eps = ot.sinkhorn(a5, b7, C57, 0.05, method="sinkhorn_log", stopThr=1e-12, numItermax=10_000)
gap = (P_eps * C57).sum() - kantorovich.kantorovich(a5, b7, C57).cost
print(f"gap {gap:.4f} <= eps log(nm) = {0.05 * math.log(35):.4f}")
assert -1e-9 <= gap <= 0.05 * math.log(35)

# %% [markdown]
# <details><summary>Solution 3</summary>
#
# No. The product plan's second marginal is $\nu_1\otimes\nu_1$, which is not $\nu$ (it spreads mass over the
# whole $k\times k$ grid, $\nu$ only over its diagonal): the product is not even a coupling of $\mu$ and $\nu$.
# The hypothesis "i.i.d. components" is needed on both sides, which is why the paper notes that its component-wise
# operations keep i.i.d. inputs i.i.d. The sum of the 1-D costs is still a *lower bound* on the cost (any coupling's
# component couplings are couplings of $\mu_1$ and $\nu_1$), but it is reached only if some coupling of $\mu$ and $\nu$
# has optimal 1-D plans in both components; whether one exists depends on the cost and the atoms. For the $\ell_1$ cost
# it exists more often than for the squared one, because $\ell_1$ has many optimal 1-D plans to choose from (all those
# that never move mass against the sign of $F_{\mu_1} - F_{\nu_1}$): the cell below shows the gap for both costs.
#
# </details>

# %% jupyter={"source_hidden": true} tags=["solution"]
diag_y = np.c_[y1, y1]
plan_1d = kantorovich.kantorovich(a1, b1, ot.dist(x1[:, None], y1[:, None], metric="cityblock")).plan
product = np.kron(plan_1d, plan_1d)
product_target = product.sum(0).reshape(k, k)  # mass the product sends to the grid point (y1[i], y1[j])
off_diagonal = product_target.sum() - np.trace(product_target)
print(f"mass the product plan sends off the diagonal, where ν has none: {off_diagonal:.3f}")
assert off_diagonal > 0
for name, metric in [("l1", "cityblock"), ("squared l2", "sqeuclidean")]:
    lower = 2 * kantorovich.kantorovich(a1, b1, ot.dist(x1[:, None], y1[:, None], metric=metric)).cost
    to_diag = kantorovich.kantorovich(a2, b1, ot.dist(grid_x, diag_y, metric=metric)).cost
    print(f"{name:10s}: optimal cost to the diagonal law {to_diag:.4f} >= 2 x 1-D cost {lower:.4f}")
    assert to_diag >= lower - 1e-9

# %% [markdown]
# <details><summary>Solution 4</summary>
#
# As $\varepsilon$ grows the Gibbs kernel $e^{-C/\varepsilon}$ flattens towards all ones and the plan towards
# $a b^\top$; as $\varepsilon \to 0$ it approaches an optimal plan (section 4). The cell measures the fraction
# $(\langle C, P_\varepsilon\rangle - \langle C, P^\star\rangle) / (\langle C, a b^\top\rangle - \langle C, P^\star\rangle)$:
# at $\varepsilon = 1$ the committed run gives 96 % — almost the independent coupling, although the kernel's entries
# still range from $e^{-1} = 0.37$ to 1. To first order in $1/\varepsilon$ the plan is $a b^\top$ tilted by
# $-(C - f - g)/\varepsilon$, and what that tilt saves is small against the spread of the costs. Even
# $\varepsilon = 0.01$ leaves 10 % of the gap, which is why entropic costs are quoted with their $\varepsilon$ (and why
# section 4 uses $\varepsilon \le 0.05$).
#
# </details>

# %% jupyter={"source_hidden": true} tags=["solution"]
opt_cost = kantorovich.kantorovich(a, b, Cn).cost
indep_cost = float(a @ Cn @ b)
way = {}
for eps_ in (0.01, 0.1, 1.0, 10.0):
    P_ = sinkhorn_log(a, b, Cn, eps_, 2000)
    way[eps_] = ((P_ * Cn).sum() - opt_cost) / (indep_cost - opt_cost)
    print(f"eps = {eps_:>5}: cost {(P_ * Cn).sum():.4f}, {way[eps_]:.0%} of the way from the optimal plan "
          f"({opt_cost:.4f}) to the independent coupling ({indep_cost:.4f})")
assert all(way[e1] <= way[e2] + 1e-9 for e1, e2 in zip(list(way), list(way)[1:]))  # monotone in eps
