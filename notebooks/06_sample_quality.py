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
# # 06 — Sample quality of interpolation midpoints (paper Table 2)
#
# Does matching recover the quality of random samples where linear interpolation loses it? The paper answers with
# inception scores of interpolation midpoints (its Table 2: matched ≈ random samples, linear 4–17% lower for
# 2-point and 7–29% lower for 4-point midpoints). We repeat the comparison for the DCGANs of notebook 04, with the
# scores that can be computed on this machine and with tests a reviewer would ask for.
#
# **What you will learn**
# - what the inception score (IS) computes, why its number depends on the network behind it, and how to compute it
#   the way the literature does (torch-fidelity, Inception-v3, 10 splits);
# - how to score samples when that network is not available: a small classifier trained on the dataset (IS, FID,
#   KID in its feature space) and simple image statistics;
# - how to attach uncertainty to such scores (std over splits, bootstrap intervals, permutation tests with Holm's
#   correction) and what "statistically indistinguishable" can and cannot mean.

# %% tags=["parameters"]
preset = "cpu"  # smoke | cpu | paper
seed = 0
dataset = "synthetic"  # synthetic | mnist | lfw | celeba | lsun | lld

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import otlatent
from otlatent import explore, metrics, trained
from otlatent.data import to_uint8
from otlatent.plots import images as implots
from otlatent.plots import method_color

study = otlatent.start("06_sample_quality", preset=preset, seed=seed, dataset=dataset)
cfg = study.preset
PRIORS = ("gaussian", "uniform")
D = 100  # latent size of the DCGANs
T0 = time.monotonic()

# %% [markdown]
# ## The inception score
#
# Salimans et al. (2016) score a set of images $x$ with a classifier $p(y \mid x)$:
#
# $$\mathrm{IS} = \exp\Big(\mathbb{E}_x\,\mathrm{KL}\big(p(y \mid x)\,\big\|\,p(y)\big)\Big), \qquad
#   p(y) = \mathbb{E}_x\, p(y \mid x).$$
#
# It is high when each image is classified confidently (low entropy of $p(y\mid x)$) *and* the classes are spread
# evenly (high entropy of $p(y)$): $1 \le \mathrm{IS} \le K$ for $K$ classes, $K$ for confident, evenly spread
# predictions, 1 when every image gets the same distribution. The literature's protocol (practices B1): the
# TF Inception-v3 of 2015 (1008 bias-free logits), images as uint8 resized to 299 px, the samples shuffled and cut
# into 10 splits, $p(y)$ estimated within each split, and the score reported as mean ± *population* std over the
# splits. `otlatent.metrics.inception_score` implements the formula with that protocol; `tests/test_metrics.py`
# checks it against torch-fidelity's own `isc_features_to_metric` on identical logits, and against the closed forms
# ($K$ and 1) below.

# %%
# NBVAL_CHECK_OUTPUT
K = 10
confident = torch.eye(K).repeat(50, 1)  # every image certain of its class; each split of 50 holds every class 5 times
identical = torch.full((500, K), 1.0 / K)  # every image gets the same distribution
is_confident = metrics.inception_score(probs=confident, shuffle=False)["mean"]
is_identical = metrics.inception_score(probs=identical)["mean"]
print("IS of confident, evenly spread predictions:", round(is_confident, 6))
print("IS of identical predictions:               ", round(is_identical, 6))
np.testing.assert_allclose([is_confident, is_identical], [K, 1.0], rtol=1e-12)
# shuffled before splitting (the protocol), the classes are no longer spread evenly within each split of 50:
print("the same confident predictions, shuffled into 10 splits:",
      round(metrics.inception_score(probs=confident)["mean"], 4), "(split-size effect)")

# %% [markdown]
# ### The literature's inception score needs the Inception weights
#
# torch-fidelity computes that score with the TF-ported Inception-v3 (`weights-inception-2015-12-05-6726825d.pth`).
# `metrics.inception_status` looks for the file (the path in `$OTLATENT_INCEPTION_WEIGHTS`, then
# `<data root>/weights/`, then torch hub's checkpoint folder) and allows a download only when asked
# (`$OTLATENT_ALLOW_DOWNLOAD=1`). A network with random weights gives a number, but not an inception score: when the
# weights are missing, this notebook does not compute one.

# %%
inception = metrics.inception_status()
if inception["available"]:
    print("Literature inception score: will be computed.", inception["reason"])
else:
    print("Literature inception score: NOT computed on this machine.\nWhy:", inception["reason"])

# %% [markdown]
# ## Scores that work here: a classifier trained on the dataset
#
# Without Inception we train a small CNN (`otlatent.classifier.SmallCNN`: four 3×3 convolutions, global average
# pooling, a linear layer) on the dataset itself, as the "MNIST score" does for digits. Its class probabilities give
# a **classifier-based inception score**; its pooled penultimate layer is the feature space of **FID** (Fréchet
# distance between Gaussian fits of the real and generated features) and **KID** (unbiased MMD² with the cubic
# polynomial kernel), both computed by torch-fidelity's own functions — the CNN is registered with torch-fidelity as
# the feature extractor `otlatent-classifier`. Datasets with labels (synthetic: 10 shapes; MNIST: 10 digits) train on
# the labels; unlabelled ones (LFW faces) train a rotation predictor (0/90/180/270°), whose features serve FID/KID
# but whose "inception score" would be meaningless (generated faces are all upright), so it is not reported.
# The classifier's held-out test images are the real reference set of FID and KID. Training is seeded and
# cached under the data root.

# %%
clf, reference_u8 = trained.classifier_for(study)
LABELLED = clf.config.task == "labels"
print(f"classifier: task {clf.config.task!r}, {clf.config.num_classes} classes, width {clf.config.width}, "
      f"{clf.config.epochs} epochs on {clf.n_train_used:,} real images, trained in {clf.seconds:.0f} s")
print(f"test accuracy on {len(reference_u8):,} held-out real images: {clf.test_accuracy:.3f} "
      f"(chance {1 / clf.config.num_classes:.3f})")
reference = clf.features(reference_u8)
if LABELLED:
    real_is = metrics.inception_score(logits=reference["logits"], splits=cfg.score_splits)
    print(f"classifier IS of the held-out real images: {real_is['mean']:.3f} ± {real_is['std']:.3f} "
          f"(at most {clf.config.num_classes})")
assert clf.test_accuracy > 1 / clf.config.num_classes, "the classifier must beat chance"

# %%
fig, ax = plt.subplots(figsize=(5, 2.6))
loss = np.asarray(clf.history["loss"])
ax.plot(implots.moving_average(loss, max(1, len(loss) // 50)), color="#4d4d4d")
ax.set(xlabel="iteration", ylabel="cross-entropy (running mean)", title=f"{dataset}: {clf.config.task} classifier")
study.savefig(fig, "classifier_loss", caption=(
    f"Training loss of the scoring classifier on `{dataset}` (test accuracy {clf.test_accuracy:.3f})."))

# %% [markdown]
# ## The samples
#
# For each generator of notebook 04 (Gaussian and uniform prior) we decode, from independent latent draws,
# `cfg.n_score` images of each kind:
# - **random samples** $G(z)$, $z$ from the prior;
# - **2-point midpoints** of $z_1, z_2$: linear $\tfrac12(z_1+z_2)$, SLERP, and matched (the linear midpoint mapped
#   back onto the prior by $T = F_Z^{-1}\circ F_Y$ per component);
# - **4-point midpoints**: the centre of a bilinear grid on four corners, all weights $\tfrac14$, linear and matched
#   (SLERP has no 4-point midpoint; the paper has no SLERP row either).

# %%
runs = trained.dcgans_for(study, PRIORS)
SETS = ("random samples",) + explore.MIDPOINT_SETS
n = cfg.n_score


def sample_sets(prior):
    """uint8 images of every set for one generator (independent latents per group, seeded)."""
    run = runs[prior]
    latents = explore.midpoint_sets(explore.draw(prior, 2 * n, D, seed, 1).reshape(2, n, D),
                                    explore.draw(prior, 4 * n, D, seed, 2).reshape(4, n, D), prior,
                                    random=explore.draw(prior, n, D, seed, 3))
    return {name: to_uint8(run.generate(latents[name])) for name in SETS}


images = {}
for prior in PRIORS:
    t = time.monotonic()
    images[prior] = sample_sets(prior)
    print(f"{prior}: decoded {len(SETS)} x {n:,} images in {time.monotonic() - t:.0f} s "
          f"({runs[prior].iteration:,} training iterations, {runs[prior].path})")

# %% [markdown]
# ## Uncertainty
#
# - **std over splits** — what the paper's ± reports (10 splits of its 50,000 samples);
# - **95% bootstrap interval** — resampling the images with replacement (IS: of the split mean; FID: generated and
#   reference features both resampled; FID's bootstrap is biased upwards, so its interval can sit above the value);
# - **permutation test** against the random samples — pool the two sets, relabel at random, recompute the
#   difference; $p = (1 + \#\{|\Delta^*| \ge |\Delta|\}) / (1 + B)$ with $B$ = `cfg.n_boot` relabellings, so the
#   smallest attainable $p$ is $1/(B+1)$. IS and FID are recomputed on each relabelling; for KID the test uses the
#   full-set unbiased MMD² to the reference. Five sets are tested against the random samples per score, so the
#   p-values are also given **Holm-adjusted** (`p_holm`);
# - image statistics: per-image values, two-sided **Mann–Whitney** test (scipy).

# %%
long, tables = {}, {}
for prior in PRIORS:
    t = time.monotonic()
    feats = {name: clf.features(x) for name, x in images[prior].items()}
    scores = metrics.score_sets(feats, reference, "random samples", splits=cfg.score_splits, n_boot=cfg.n_boot,
                                kid_subset_size=min(1000, n // 2), inception_score_=LABELLED, seed=seed)
    stats = metrics.compare_statistics(images[prior], "random samples")
    long[prior] = pd.concat([scores, stats], ignore_index=True)
    print(f"{prior}: scored in {time.monotonic() - t:.0f} s")

if inception["available"]:
    for prior in PRIORS:
        rows = []
        for name, x in images[prior].items():
            out = metrics.fidelity_metrics(x, weights_path=inception["weights_path"], splits=10, device=study.device)
            rows.append(dict(set=name, score="IS (Inception-v3)", value=out["inception_score_mean"],
                             std=out["inception_score_std"]))
        lit = pd.DataFrame(rows)
        lit["rel_change_pct"] = 100 * (lit.value / lit.value.iloc[0] - 1)
        long[prior] = pd.concat([long[prior], lit], ignore_index=True)

# %% [markdown]
# ## The table
#
# One table per model ($\text{dataset} \times \text{prior}$), laid out like the paper's Table 2: value ± std over
# splits (FID: value and bootstrap interval; KID: ± std over subsets), relative change against the random samples,
# `*` when the Holm-adjusted permutation p-value is below 0.05. The full numbers (intervals, raw and adjusted
# p-values) are saved beside it as `06_scores_<prior>_<dataset>.csv`.

# %%
SCORE_COLUMNS = (["IS"] if LABELLED else []) + ["FID", "KID", "sharpness", "contrast"] + (
    ["saturation"] if images[PRIORS[0]]["random samples"].shape[1] == 3 else []) + (
    ["IS (Inception-v3)"] if inception["available"] else [])
for prior in PRIORS:
    tables[prior] = metrics.paper_style_table(long[prior], SETS, SCORE_COLUMNS)
    study.save_table(tables[prior], f"table2_{prior}", caption=(
        f"Sample quality of random samples and interpolation midpoints, `{dataset}` DCGAN, {prior} prior, "
        f"{n:,} images per row ({cfg.score_splits} splits, {cfg.n_boot} permutations). Scores in the feature space "
        f"of the {clf.config.task} classifier (test accuracy {clf.test_accuracy:.3f}); `*`: Holm-adjusted p < 0.05."))
    study.save_table(long[prior].set_index(["set", "score"]).round(6), f"scores_{prior}", caption=(
        f"All scores, `{dataset}`, {prior} prior, {n:,} images per set: values, std, 95% bootstrap interval, change "
        "against random samples (%), permutation / Mann–Whitney p-value and its Holm adjustment."), show=False)

# %% [markdown]
# ### The paper's numbers, for comparison
#
# Transcribed from the paper (Table 2) and from the seed student report (`grapefroot/bmml-ot`): **these are their
# numbers, not ours.** They were measured with Inception networks on other datasets (CIFAR-10, LLD, LSUN, CelebA),
# so only the pattern can be compared: matched ≈ random samples, linear lower, 4-point lower than 2-point. The seed
# report used torchvision's Inception without resizing, one split and no random-samples row (practices B1).

# %%
# NBVAL_CHECK_OUTPUT
paper_table2 = pd.DataFrame({
    "CIFAR-10 (iWGAN, Gaussian 128-D)": ["7.90 ± 0.11", "7.12 ± 0.08 (−10%)", "7.89 ± 0.08", "5.84 ± 0.08 (−26%)",
                                         "7.91 ± 0.09"],
    "LLD-icon (DCGAN, uniform 100-D)": ["3.70 ± 0.09", "3.56 ± 0.06 (−4%)", "3.69 ± 0.08", "3.45 ± 0.08 (−7%)",
                                        "3.69 ± 0.10"],
    "LSUN (DCGAN, uniform 100-D)": ["3.90 ± 0.08", "3.57 ± 0.07 (−8%)", "3.89 ± 0.08", "2.95 ± 0.06 (−24%)",
                                    "3.91 ± 0.10"],
    "CelebA (DCGAN, Gaussian 100-D)": ["2.05 ± 0.04", "1.71 ± 0.02 (−17%)", "2.04 ± 0.03", "1.46 ± 0.01 (−29%)",
                                       "2.04 ± 0.04"],
}, index=pd.Index(["random samples", "2-point linear", "2-point matched", "4-point linear", "4-point matched"],
                  name="PAPER's Table 2 (inception score)"))
seed_report = pd.DataFrame({
    "CelebA": [1.799, 2.008, 1.206, 2.052], "LSUN": [1.448, 1.662, 1.370, 2.128], "LLD": [1.699, 2.130, 1.658, 3.285],
}, index=pd.Index(["2-point linear", "2-point matched", "4-point linear", "4-point matched"],
                  name="SEED REPORT's IS (5,000 samples, mean only)"))
print(paper_table2.to_string())
print()
print(seed_report.to_string())

# %% [markdown]
# Our measured tables, side by side (one column block per prior):

# %%
side = pd.concat({f"measured: {dataset}, {p} prior": tables[p] for p in PRIORS}, axis=1)
side

# %% [markdown]
# ## Relative changes at a glance

# %%
plot_scores = [s for s in SCORE_COLUMNS if s in ("IS", "FID", "KID", "sharpness")]
fig, axes = plt.subplots(len(PRIORS), len(plot_scores), figsize=(3.2 * len(plot_scores), 2.6 * len(PRIORS)),
                         squeeze=False, sharey="row")
rows_plotted = SETS[1:]
for i, prior in enumerate(PRIORS):
    lg = long[prior].set_index(["set", "score"])
    for j, score in enumerate(plot_scores):
        ax = axes[i, j]
        base = lg.loc[("random samples", score), "value"]
        for k, name in enumerate(rows_plotted):
            r = lg.loc[(name, score)]
            colour = method_color(name.split()[-1])
            err = None
            if np.isfinite(r.get("ci_low", np.nan)):
                err = [[r.rel_change_pct - 100 * (r.ci_low / base - 1)], [100 * (r.ci_high / base - 1) - r.rel_change_pct]]
                err = np.clip(err, 0, None)
            ax.errorbar(r.rel_change_pct, k, xerr=err, fmt="o", color=colour,
                        mfc=colour if r.p_holm < 0.05 else "white")
        ax.axvline(0, color="#4d4d4d", lw=0.8)
        ax.set_yticks(range(len(rows_plotted)), rows_plotted)
        ax.set_title(f"{score} ({prior})", fontsize=9)
        ax.set_xlabel("change vs random samples (%)")
fig.tight_layout()
study.savefig(fig, "relative_change", caption=(
    f"Change of each score against the random samples (%), `{dataset}`; filled markers: Holm-adjusted p < 0.05; "
    "bars: the row's 95% bootstrap interval (IS, FID) relative to the random samples' value. IS and sharpness: "
    "higher is better; FID, KID: lower is better."))

# %% [markdown]
# ## What the table says
#
# The paper claims that matched midpoints are statistically indistinguishable from random samples, and that
# linear midpoints are significantly worse (Table 2 shows a lower IS in every setting). The next cell reads both
# claims off the measured table, per model and per score:
# - a matched set counts as *indistinguishable* on a score when its **unadjusted** p-value is ≥ 0.05 (no
#   correction that would make this claim easier); not rejecting is not proving equality — the bootstrap intervals
#   say how large a difference the data still allow;
# - a linear set counts as *significantly worse* when its **Holm-adjusted** p-value is < 0.05 and the score moved in
#   its worse direction (IS down, FID/KID up). A significant move the other way is flagged as "better": FID and KID
#   compare whole feature distributions with the real images', so a set that is blurrier but closer to the centre
#   of the real features (midpoints average their endpoints) can score better on them while its images are
#   visibly worse — the IS and the image statistics of the same rows tell the two apart.

# %%
main_scores = [s for s in ("IS", "FID", "KID") if s in SCORE_COLUMNS]
smallest_holm = min(1.0, (len(SETS) - 1) / (cfg.n_boot + 1))
if smallest_holm >= 0.05:
    print(f"NOTE: with {cfg.n_boot} permutations the smallest Holm-adjusted p-value is {smallest_holm:.3f}, so no "
          "linear set can be called significantly worse at this preset (a plumbing run, not a result).\n")
verdict = {}
for prior in PRIORS:
    v = metrics.verdicts(long[prior], matched=["2-point matched", "4-point matched"],
                         linear=["2-point linear", "4-point linear"], scores=main_scores)
    verdict[prior] = v
    print(f"{dataset}, {prior} prior:")
    for name, g in v.groupby("set", sort=False):
        held = g[g.holds].score.tolist()
        failed = g[~g.holds].score.tolist()
        claim = g.claim.iloc[0]
        changes = ", ".join(f"{r.score} {r.rel_change_pct:+.1f}% (p={r.p_value:.3g}, Holm {r.p_holm:.3g})"
                            for r in g.itertuples())
        status = ("yes, on every score" if not failed else
                  "no, on none of the scores" if not held else f"on {', '.join(held)} only, not on {', '.join(failed)}")
        better = [r.score for r in g.itertuples() if r.p_holm < 0.05 and
                  (r.rel_change_pct > 0) == (metrics.WORSE[r.score] == "lower")]
        if better:
            status += f" -- significantly BETTER than random samples on {', '.join(better)}"
        print(f"  {name}: {claim}? {status}.  [{changes}]")
    agrees = bool(v.holds.all())
    print(f"  -> {'agrees with' if agrees else 'differs from'} the paper's claim (matched = random samples, linear "
          f"worse) on {', '.join(main_scores)}" + ("." if agrees else
          f": it fails for {', '.join(sorted(set(v[~v.holds].set)))}."))
    sl = long[prior].set_index(["set", "score"])
    print("  (SLERP, not in the paper's table: " + ", ".join(
        f"{s} {sl.loc[('2-point slerp', s), 'rel_change_pct']:+.1f}% (Holm p={sl.loc[('2-point slerp', s), 'p_holm']:.3g})"
        for s in main_scores) + ")")
    print()
assert set(verdict[PRIORS[0]].set) == {"2-point matched", "4-point matched", "2-point linear", "4-point linear"}

# %%
summary = pd.concat({p: v.pivot(index="set", columns="score", values="holds") for p, v in verdict.items()},
                    names=["prior"])
summary = summary.reindex(columns=main_scores)
study.save_table(summary, "claims", caption=(
    f"The paper's claims checked on the measured `{dataset}` tables: True where the claim of the row "
    "(matched: indistinguishable from random samples; linear: significantly worse) holds for that score."))
print(f"notebook wall time so far: {time.monotonic() - T0:.0f} s")

# %% [markdown]
# ## Summary
#
# - The inception score is a property of a *network* as much as of the images: the literature's number needs the
#   TF Inception-v3 weights (torch-fidelity), and this notebook says so instead of printing a number from another
#   network. Where the weights exist (`$OTLATENT_INCEPTION_WEIGHTS`), the same cells add that column.
# - In the feature space of a classifier trained on the dataset, the table above gives, per model, the IS, FID and
#   KID of random samples and of 2-point and 4-point midpoints, with std over splits, bootstrap intervals and
#   permutation tests. The claims cell states, from those numbers, for which model and score the paper's two claims
#   hold at this preset; `figures/tables/06_claims_<dataset>.csv` keeps the answer.
# - Image statistics (sharpness, contrast, saturation) test the paper's visual claim — linear midpoints are blurrier
#   and less saturated — one image at a time.
#
# ## Exercises
#
# 1. Why must the random samples and the midpoints be scored with the *same* number of images and splits?
# 2. The 4-point matched midpoint has exactly the prior's law. Why may its score still differ a little from the
#    random samples' in a finite table?
# 3. A reviewer asks for the 2-point midpoints at $t = 1/4$ instead of $1/2$. Which way do you expect the linear
#    row to move, and why?
#
# ### Solutions
#
# 1. The IS estimates $p(y)$ within each split, and the KL average is biased for small splits (an empirical
#    marginal over few images has lower entropy), so IS depends on the split size; FID's covariance estimate is
#    biased by sample size too. Only equal sizes make the scores comparable — the permutation test keeps them equal.
# 2. Sampling error: the images are a finite sample (the ± and the intervals), and the permutation test rejects at
#    level 0.05 one time in twenty even when the laws are equal. Six models times three scores make 18 matched
#    tests, so about one "significant" matched row is expected by chance alone, though every one of those sets has
#    the prior's law. Two consequences: a claim that rests on many tests needs a correction for multiplicity (the
#    Holm-adjusted p-values of the table), and a matched row that is *not* significant shows only that this sample
#    could not tell the sets apart — not that they are equal, which would take an equivalence test with a margin
#    fixed in advance.
# 3. Towards the random samples: at $t = 1/4$ the components have variance $(t^2 + (1-t)^2)\,\mathrm{Var}[z] =
#    0.625\,\mathrm{Var}[z]$ instead of $0.5\,\mathrm{Var}[z]$, so the latent is closer to the prior's shell and
#    the images degrade less.
