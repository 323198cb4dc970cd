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
# # 05 — Latent operations on trained generators
#
# Notebook 03 showed, on latents alone, that the intuitive operations leave the prior's shell and that the
# matched operations stay on it. Here we decode those latents with the DCGANs of notebook 04 (Gaussian and
# uniform prior) and look at the images, as in the paper's Figures 4–11.
#
# **What you will learn**
# - what 2-point and 4-point interpolation, random walks, vicinity sampling and analogies look like through a
#   trained generator, in their linear, SLERP and matched forms;
# - how the latent norm along each path (notebook 03) predicts where images degrade;
# - how to read such figures critically: simple image statistics beside each figure keep the eye honest.

# %% tags=["parameters"]
preset = "cpu"  # smoke | cpu | paper
seed = 0
dataset = "synthetic"  # synthetic | mnist | lfw | celeba | lsun | lld

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import otlatent
from otlatent import dcgan, explore, matching, metrics, trained
from otlatent.plots import images as implots
from otlatent.plots import latent as latplots

study = otlatent.start("05_latent_operations", preset=preset, seed=seed, dataset=dataset)
cfg = study.preset
PRIORS = ("gaussian", "uniform")
D = 100  # latent size of the DCGANs

# %% [markdown]
# ## The generators
#
# `trained.dcgans_for` returns the models trained by notebook 04 for this dataset, preset and seed (it trains them
# only if notebook 04 has not run). Every image below is decoded in eval mode, so it depends on its own latent
# only.

# %%
runs = trained.dcgans_for(study, PRIORS)
for p, r in runs.items():
    print(f"{p:>8s} prior: {r.iteration:,} iterations, {r.path}")


def decode(prior, z):
    return runs[prior].generate(torch.as_tensor(z, dtype=torch.float32))


def draw(prior, n, offset):
    """n latents from a prior, seeded by the notebook seed and an offset per use."""
    return explore.draw(prior, n, D, seed, offset)

# %% [markdown]
# ## 2-point interpolation (paper Figure 4)
#
# Between two prior samples $z_1, z_2$ we decode, for $t$ from 0 to 1,
# - **linear**: $y_t = (1-t)\,z_1 + t\,z_2$;
# - **SLERP**: the great-circle path of White (2016);
# - **matched**: $\tilde y_t = T_t(y_t)$ with $T_t = F_Z^{-1} \circ F_{Y_t}$ per component (Gaussian:
#   $y_t/\sqrt{t^2 + (1-t)^2}$; uniform: the exact piecewise-polynomial map).
#
# Each example is drawn as three rows. Below each figure, the latent norm along 500 such paths.

# %%
N_STEPS, N_EXAMPLES = 10, 3
for prior in PRIORS:
    z = draw(prior, 2 * N_EXAMPLES, offset=1)
    rows = []
    for k in range(N_EXAMPLES):
        path = explore.interpolation_path(z[2 * k], z[2 * k + 1], N_STEPS, prior)
        rows += [(f"{m} ({k + 1})", decode(prior, path[m])) for m in explore.METHODS]
    ts = np.linspace(0, 1, N_STEPS)
    fig = implots.strips_figure(rows, column_labels=[f"t={t:.2f}" for t in ts])
    study.savefig(fig, f"interp2_{prior}", caption=(
        f"2-point interpolation, {prior} prior, `{dataset}`: for each of {N_EXAMPLES} pairs, linear (red label), "
        "SLERP (blue) and matched (green) paths from $z_1$ (left) to $z_2$ (right)."))

    many = draw(prior, 1000, offset=2)
    paths = explore.interpolation_path(many[:500], many[500:], 21, prior)
    norms = explore.norms(paths)
    fig, ax = plt.subplots(figsize=(5, 3))
    latplots.norm_paths(ax, np.linspace(0, 1, 21), {m: (v.mean(1), v.std(1)) for m, v in norms.items()},
                        reference=float(np.sqrt(D * runs[prior].prior.var)), title=f"{prior} prior")
    study.savefig(fig, f"interp2_norms_{prior}", caption=(
        "Latent norm along 500 interpolation paths (mean ± sd). Linear paths sag towards the middle — by a "
        "factor $\\sqrt{1/2}$ at $t = 1/2$ — while SLERP and matched paths keep the prior's norm."))
    mid = norms["linear"][10].mean() / norms["matched"][10].mean()
    print(f"{prior}: mean norm at t = 1/2, linear / matched = {mid:.3f} (theory: sqrt(1/2) = {np.sqrt(0.5):.3f})")
    assert abs(mid - np.sqrt(0.5)) < 0.02

# %% [markdown]
# What do the images say? The paper's claim is that linear midpoints are blurrier and less saturated. Instead of
# judging by eye alone, we decode 500 midpoints ($t = 1/2$) of each kind and 500 random samples and compare mean
# saturation, contrast and sharpness (Laplacian energy; see `otlatent.metrics.image_statistics`), beside 500 real
# images: "blurrier than random samples" is not the same as "blurrier than the data" — a generator can be sharper
# than its training images. Notebook 06 adds replicated models, tests and the sample-quality scores.

# %%
real_images = trained.images_for(study).images_u8
real_images = real_images[np.random.default_rng(seed).choice(len(real_images), min(500, len(real_images)),
                                                              replace=False)]
for prior in PRIORS:
    z = draw(prior, 1500, offset=3)
    mids = explore.midpoints(torch.stack([z[:500], z[500:1000]]), prior)
    groups = {"real images": real_images, "random samples": decode(prior, z[1000:])} | {
        f"{m} midpoint": decode(prior, v) for m, v in mids.items()}
    study.save_table(metrics.statistics_table(groups, baseline="random samples"), f"interp2_stats_{prior}", caption=(
        f"Image statistics of {len(real_images):,} real training images, 500 random samples and 500 midpoints of "
        f"each kind, {prior} "
        f"prior, `{dataset}` (Δ%: relative to random samples)."))

# %% [markdown]
# ### Why the generators run in eval mode
#
# A DCGAN's batch-norm layers can normalise with the statistics of the batch in front of them (train mode) or with
# fixed statistics (eval mode; here recalibrated over prior samples after training, `dcgan.calibrate_batchnorm`).
# *Predict, then run:* if a batch made only of linear midpoints is decoded in train mode, will the images be as
# blurry as in the table above? In train mode every layer rescales the whole batch to zero mean and unit variance,
# so a batch of latents that are all too short gets activations of the same size as a batch of prior samples:
# the mismatch is renormalised away, and with it the effect the paper studies. Every figure and score of the study
# decodes in eval mode, where each image depends on its own latent only.

# %%
bn_rows = []
for prior in PRIORS:
    z = draw(prior, 1000, offset=4)
    lin = explore.midpoints(torch.stack([z[:500], z[500:]]), prior)["linear"]
    rnd = draw(prior, 500, offset=5)
    sets = {"random samples (eval)": decode(prior, rnd), "linear midpoints (eval)": decode(prior, lin),
            "linear midpoints (train-mode BN)": dcgan.generate_batch_statistics(runs[prior].generator, lin)}
    sharp = {name: metrics.image_statistics(x).sharpness.mean() for name, x in sets.items()}
    base = sharp["random samples (eval)"]
    bn_rows += [{"prior": prior, "set": name, "sharpness": v, "Δ% vs random": 100 * (v / base - 1)}
                for name, v in sharp.items()]
    hidden = abs(sharp["linear midpoints (train-mode BN)"] / base - 1) < abs(sharp["linear midpoints (eval)"] / base - 1)
    study.claim(f"{prior}: train-mode batch norm hides part of the midpoints' blur (sharpness closer to the random "
                "samples' than in eval mode)", hidden)
study.save_table(pd.DataFrame(bn_rows).set_index(["prior", "set"]).round(4), "batchnorm_modes", caption=(
    f"Sharpness of 500 random samples and 500 linear midpoints decoded in eval mode, and of the same midpoints "
    f"decoded as one batch with train-mode batch norm, `{dataset}`."))

# %% [markdown]
# ## 4-point interpolation (paper Figure 5)
#
# Four random corners span a grid; the latent at position $(a, b) \in [0, 1]^2$ is the bilinear combination
# $y = (1-a)(1-b)\,z_1 + a(1-b)\,z_2 + (1-a)b\,z_3 + ab\,z_4$. Its components have variance
# $\sum_i w_i^2\,\mathrm{Var}[z]$, which at the centre is only $\tfrac14\,\mathrm{Var}[z]$: the centre of a linear
# grid is twice as far from the prior's shell (in norm ratio) as a 2-point midpoint. The matched grid applies
# the map for the weights of each cell; SLERP interpolates along two edges, then between them.

# %%
# NBVAL_CHECK_OUTPUT
# The matched map at the grid's centre, on fixed inputs: a rescale by 1/sqrt(sum w_i^2) = 2 for the Gaussian prior,
# the exact degree-4 piecewise polynomial 2 F_Y(y) - 1 for the uniform prior.
centre = explore.bilinear_weights(0.5, 0.5)
y = torch.tensor([[-1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0]])
print("centre weights:", centre)
for prior in PRIORS:
    mapped = matching.match(y, centre, prior)
    print(f"{prior:>8s}: T(y) =", " ".join(f"{v:+.4f}" for v in mapped[0].tolist()))

# %%
GRID = 6
for prior in PRIORS:
    corners = draw(prior, 4, offset=4)
    grids = explore.grid_4point(corners, GRID, prior)
    fig = implots.grid_figure([(m, decode(prior, grids[m])) for m in explore.METHODS], nrow=GRID)
    study.savefig(fig, f"interp4_{prior}", caption=(
        f"4-point interpolation, {prior} prior, `{dataset}`: the same four corners, linear, SLERP and matched "
        f"{GRID}x{GRID} grids."))
    n = explore.norms(grids)
    centre = {m: v.reshape(GRID, GRID)[GRID // 2 - 1:GRID // 2 + 1, GRID // 2 - 1:GRID // 2 + 1].mean()
              for m, v in n.items()}
    print(f"{prior}: corner norm {n['linear'][0]:.2f}; mean norm of the 4 central cells: "
          + ", ".join(f"{m} {v:.2f}" for m, v in centre.items()))

# %% [markdown]
# ## Midpoint galleries (paper Figures 10–11)
#
# 25 random samples beside 25 midpoints of 2-point and 4-point interpolation (all weights $\tfrac14$), linear and
# matched.

# %%
for prior in PRIORS:
    z = draw(prior, 25 * 5, offset=5)
    two = explore.midpoints(torch.stack([z[:25], z[25:50]]), prior)
    four = explore.midpoints(torch.stack([z[50:75], z[75:100], z[100:125], z[:25]]), prior)
    rand = draw(prior, 25, offset=6)
    panels = [("random", decode(prior, rand)), ("2-pt linear", decode(prior, two["linear"])),
              ("2-pt matched", decode(prior, two["matched"])), ("4-pt linear", decode(prior, four["linear"])),
              ("4-pt matched", decode(prior, four["matched"]))]
    fig = implots.grid_figure(panels, nrow=5, panel_inches=2.6)
    study.savefig(fig, f"midpoints_{prior}", caption=(
        f"Random samples and interpolation midpoints, {prior} prior, `{dataset}`."))

# %% [markdown]
# ## Random walks (paper Figure 6)
#
# A random walk repeats vicinity sampling: $y_0 = z$, $y_i = y_{i-1} + \varepsilon u_i$ with $u_i$ drawn from the
# prior and $\varepsilon = 0.5$. Each step adds $\varepsilon^2\,\mathrm{Var}[z]$ to the component variance, so the
# walk drifts *outwards*, ever further from the shell: after $n$ steps $y_n = z + \varepsilon \sum_i u_i$ has
# component variance $(1 + n\varepsilon^2)\,\mathrm{Var}[z]$ and its norm has grown by $\sqrt{1 + n\varepsilon^2}$
# ($\sqrt 5 \approx 2.24$ after 16 steps), for any prior. The matched walk maps every step back, $y_i = T(y_{i-1} + \varepsilon u_i)$, so every $y_i$ has
# the prior's law. Same $z$ and same directions $u_i$ in both rows.

# %%
EPS, WALK = 0.5, 16
for prior in PRIORS:
    z0, steps = draw(prior, 1, offset=7)[0], draw(prior, WALK, offset=8)
    w = explore.walks(z0, steps, EPS, prior)
    z0b, stepsb = draw(prior, 1, offset=9)[0], draw(prior, WALK, offset=10)
    wb = explore.walks(z0b, stepsb, EPS, prior)
    rows = [("linear (1)", decode(prior, w["linear"])), ("matched (1)", decode(prior, w["matched"])),
            ("linear (2)", decode(prior, wb["linear"])), ("matched (2)", decode(prior, wb["matched"]))]
    fig = implots.strips_figure(rows, column_labels=[str(i) for i in range(WALK + 1)])
    study.savefig(fig, f"walk_{prior}", caption=(
        f"Random walks with $\\varepsilon$ = {EPS}, {prior} prior, `{dataset}`: non-matched (red) and matched "
        "(green) walks from the same start with the same step directions; step 0 on the left."))

    many0, manysteps = draw(prior, 300, offset=11), draw(prior, 300 * WALK, offset=12).reshape(WALK, 300, D)
    nw = explore.norms(explore.walks(many0, manysteps, EPS, prior))
    fig, ax = plt.subplots(figsize=(5, 3))
    latplots.norm_paths(ax, np.arange(WALK + 1), {m: (v.mean(1), v.std(1)) for m, v in nw.items()},
                        xlabel="step", reference=float(np.sqrt(D * runs[prior].prior.var)), title=f"{prior} prior")
    study.savefig(fig, f"walk_norms_{prior}", caption="Latent norm along 300 random walks (mean ± sd).")
    growth = nw["linear"][-1].mean() / nw["linear"][0].mean()
    print(f"{prior}: linear walk norm grew x{growth:.2f} in {WALK} steps (theory {np.sqrt(1 + WALK * EPS**2):.2f}); "
          f"matched: x{nw['matched'][-1].mean() / nw['matched'][0].mean():.3f}")
    assert abs(growth / np.sqrt(1 + WALK * EPS**2) - 1) < 0.05

# %% [markdown]
# ## Vicinity sampling (paper Figures 8–9) and analogies
#
# Vicinity samples $z + \varepsilon u_j$ around one latent (same $u_j$ for both rows), and analogies
# $z_3 + (z_2 - z_1)$ — "$z_1$ is to $z_2$ as $z_3$ is to ?" — whose components have three times the prior's
# variance before matching.

# %%
for prior in PRIORS:
    z, us = draw(prior, 1, offset=13)[0], draw(prior, 9, offset=14)
    v = explore.vicinity_samples(z, us, EPS, prior)
    rows = [("centre", decode(prior, z[None])), ("linear", decode(prior, v["linear"])),
            ("matched", decode(prior, v["matched"]))]
    fig = implots.strips_figure(rows)
    study.savefig(fig, f"vicinity_{prior}", caption=(
        f"Vicinity sampling with $\\varepsilon$ = {EPS}, {prior} prior: the centre image, then 9 neighbours "
        "without (red) and with (green) matching, same directions."))

    zz = draw(prior, 12, offset=15)
    a = explore.analogies(zz[0:4], zz[4:8], zz[8:12], prior)
    rows = [(f"example {k + 1}", decode(prior, torch.stack([zz[k], zz[4 + k], zz[8 + k], a["linear"][k],
                                                             a["matched"][k]])))
            for k in range(4)]
    fig = implots.strips_figure(rows, column_labels=["$z_1$", "$z_2$", "$z_3$", "linear", "matched"],
                                cell_inches=0.9)
    study.savefig(fig, f"analogies_{prior}", caption=(
        f"Analogies $z_3 + (z_2 - z_1)$, {prior} prior: the three inputs, then the plain and the matched result."))
    na = explore.norms(a)
    print(f"{prior}: analogy norm, linear {na['linear'].mean():.2f} vs matched {na['matched'].mean():.2f} "
          f"(prior {np.sqrt(D * runs[prior].prior.var):.2f}, linear theory x sqrt(3) = "
          f"{np.sqrt(3 * D * runs[prior].prior.var):.2f})")

# %% [markdown]
# ## Explore it yourself
#
# `otlatent.explorer.LatentExplorer` puts the two generators of this notebook under your hands: pick a model, two or
# four random latents, move the interpolation weight, toggle linear / SLERP / matched and a prior sample. It shows the
# decoded images, each latent's norm against the prior's norm band, and the histogram of its components against the
# prior's density. *Predict, then move the slider:* at which $t$ does the linear latent leave the prior's norm band,
# and what happens to its image there? The live widget needs a running kernel; the figure below is its static view at
# the 2-point midpoint (what the rendered site shows).

# %%
from otlatent.explorer import LatentExplorer

explorer = LatentExplorer(runs, d=D, seed=seed)
study.savefig(explorer.figure(model="gaussian", points=2, t=0.5), "explorer", caption=(
    "The latent explorer's view: a prior sample and the linear, SLERP and matched 2-point midpoints of two random "
    "latents (Gaussian prior), their norms against the prior's band (mean ± 2 sd), and their components against the "
    "prior's density."))
explorer.widget()

# %% [markdown]
# ## Summary
#
# - Decoded through trained generators, the operations of Table 1 behave as notebook 03 predicts from the latents
#   alone: the linear ones move the latent norm off the prior's shell (inwards for interpolation, outwards for
#   random walks and analogies), the matched ones keep it exactly.
# - The image-statistics tables beside the 2-point figures quantify what the eye sees for this dataset; notebook
#   06 turns that comparison into scores with confidence intervals and tests.
# - SLERP keeps the norm's mean right and, in these figures, often looks like the matched path; it is not matched,
#   though (notebook 03: its norm distribution is too narrow and, in low dimension, it never visits the origin).
#
# ## Exercises
#
# 1. Replace the matched 2-point path by the *norm-rescaled* path $y_t\,\|z\|_{\text{typical}} / \|y_t\|$. How
#    does it differ from the matched path for the uniform prior?
# 2. Run a matched random walk of 200 steps. Does it ever leave the training distribution?
# 3. For the analogy, which component values can the plain result reach under the uniform prior, and which the
#    matched one?
#
# ### Solutions
#
# <details><summary>Solution 1</summary>
#
# Rescaling fixes the norm, but not the component law: for the uniform prior the rescaled midpoint still has
# triangular, not uniform, components (mass piles up near 0 and the corners of the cube are never reached).
# The matched map fixes every component's law, hence the norm too.
#
# </details>

# %% jupyter={"source_hidden": true} tags=["solution"]
from scipy import stats

z = draw("uniform", 2000, offset=6)
mid = 0.5 * (z[:1000] + z[1000:])
typical = float(np.sqrt(D * runs["uniform"].prior.var))
rescaled = mid * typical / mid.norm(dim=1, keepdim=True)
matched_mid = explore.midpoints(torch.stack([z[:1000], z[1000:]]), "uniform")["matched"]
law = {}
for name, v in {"norm-rescaled": rescaled, "matched": matched_mid}.items():
    comp = v.flatten().numpy()
    law[name] = (np.mean(np.abs(comp) > 1), stats.kstest(np.clip(comp, -1, 1), stats.uniform(-1, 2).cdf).statistic)
    print(f"{name:>13s}: mean norm {v.norm(dim=1).mean():.3f} (prior {typical:.3f}); components outside [-1, 1]: "
          f"{law[name][0]:.3%}; KS distance to U(-1, 1) {law[name][1]:.3f}")
assert law["norm-rescaled"][0] > 0 and law["matched"][0] == 0 and law["norm-rescaled"][1] > 5 * law["matched"][1]

# %% [markdown]
# <details><summary>Solution 1 (continued)</summary>
#
# The rescaled midpoint has the right norm but components that are neither uniform nor inside the cube; the matched
# one has both.
#
# </details>
#
# <details><summary>Solution 2</summary>
#
# No: every step of the matched walk has exactly the prior's law, whatever the number of steps (its norm
# curve above is flat); the images wander but stay sample-like.
#
# </details>
#
# <details><summary>Solution 3</summary>
#
# Plain: $[-3, 3]$ (three uniforms added); matched: $[-1, 1]$, the generator's training range.
#
# </details>
