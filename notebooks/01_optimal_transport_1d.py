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
# **What you will learn**
# - placeholder (the theory issue writes this notebook)

# %% tags=["parameters"]
preset = "cpu"  # smoke | cpu | paper
seed = 0

# %%
import numpy as np
import matplotlib.pyplot as plt
import otlatent

study = otlatent.start("01_optimal_transport_1d", preset=preset, seed=seed)
cfg = study.preset

# %%
# NBVAL_CHECK_OUTPUT
x = np.sort(study.rng.normal(size=5))
print(f"sorted: {np.all(np.diff(x) > 0)}")

# %%
fig, ax = plt.subplots(figsize=(4, 3))
ax.hist(study.rng.normal(size=cfg.n_sim), bins=100, density=True)
study.savefig(fig, "hist_check", caption="A histogram.")
