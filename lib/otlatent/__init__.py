"""otlatent: optimal transport maps for distribution preserving latent operations.

A reproduction study of Agustsson, Sage, Timofte & Van Gool (ICLR 2019), as notebooks over this library.
Each concept of the paper has one home, named after it (paper term: functions in module):

- CDF F and quantile function F^-1 (1-D, laws or samples): ``cdf``, ``quantile``, ``empirical_cdf``,
  ``empirical_quantile`` in ``otlatent.transport1d``
- Wasserstein distance W_p in 1-D: ``wasserstein_1d`` in ``otlatent.transport1d``
- the monotone transport map T = F_Z^-1 o F_Y (Theorem 2): ``monotone_map`` in ``otlatent.transport1d``
- Monge and Kantorovich problems, Gaussian maps: ``kantorovich``, ``monge_map_from_plan``, ``gaussian_map``,
  ``gaussian_w2`` in ``otlatent.kantorovich``
- the prior p_Z (i.i.d. components): ``Gaussian``, ``Uniform``, ``Iid``, ``get_prior`` in ``otlatent.priors``
- latent operations (Table 1): linear interpolation, SLERP, n-point interpolation, vicinity sampling, analogy,
  random walk: ``lerp``, ``slerp``, ``n_point``, ``vicinity``, ``analogy``, ``random_walk`` in
  ``otlatent.operations``
- the law F_Y of an operation's output y = sum_i c_i z_i: ``sum_law`` (``GaussianSumLaw``, ``UniformSumLaw``,
  ``NumericalSumLaw``) in ``otlatent.matching``
- matched operations (matched interpolation etc.): ``match``, ``matched_lerp``, ``matched_n_point``,
  ``matched_vicinity``, ``matched_analogy``, ``matched_random_walk`` in ``otlatent.matching``
- distribution mismatch KL(F_Y || F_Z) (Table 1, Figure 2): ``kl_exact``, ``kl_estimate``, ``kl_binned`` in
  ``otlatent.mismatch``
- every operation in its linear / SLERP / matched variants, Table 2's midpoint sets: ``interpolation_path``,
  ``interpolate_at``, ``grid_4point``, ``grid_at``, ``midpoints``, ``midpoint_sets``, ``table2_latents``,
  ``table2_values``, ``draw`` in ``otlatent.explore``
- DCGAN generator, discriminator and training: ``Generator``, ``Discriminator``, ``train_dcgan``,
  ``calibrate_batchnorm`` in ``otlatent.dcgan``
- VAE, ELBO: ``VAE``, ``negative_elbo``, ``train_vae`` in ``otlatent.vae``
- Wasserstein auto-encoders (WAE-MMD, WAE-GAN), the IMQ MMD, the latent adversary: ``WAE``, ``imq_mmd2``,
  ``adversary_losses``, ``train_wae`` in ``otlatent.wae``
- aggregated posterior q(z) and its distance to the prior (MMD permutation test, KS, Gaussian-fit KL):
  ``aggregate_posterior``, ``imq_mmd_test``, ``latent_law`` in ``otlatent.posterior``
- matching to a learned latent law (maps onto the codes' marginals): ``match_to_law``, ``EmpiricalLaw`` in
  ``otlatent.matching``
- operations on encoded held-out images, paired against reconstructions: ``encoded_sets``, ``encoded_family`` in
  ``otlatent.encoded``
- corruptions; MAP reconstruction: ``corrupt``; ``map_latents`` in ``otlatent.corruptions``;
  ``otlatent.map_reconstruction``
- inception score (and torch-fidelity's Inception-v3 features): ``inception_score``, ``inception_status``,
  ``inception_features``, ``fidelity_metrics`` in ``otlatent.metrics.inception``
- FID (and its mean and covariance terms), KID, MMD^2: ``frechet_distance``, ``fid_terms``, ``kernel_distance``,
  ``mmd2_unbiased`` in ``otlatent.metrics.distances``
- blur, contrast, saturation per image: ``image_statistics``, ``statistics_table``, ``compare_statistics`` in
  ``otlatent.metrics.image_statistics``
- permutation tests, bootstrap intervals, Holm's correction: ``permutation_test``, ``bootstrap_ci``, ``holm`` in
  ``otlatent.metrics.resampling``
- Table 2: every score of a set on all its images; scores against random samples: ``set_scores``, ``score_sets``,
  ``paper_style_table``, ``verdicts`` in ``otlatent.metrics.tables``
- "statistically indistinguishable" / "significantly worse" over replicated models: set noise, random-effects
  pooling, equivalence margin, TOST, Holm, null control: ``set_noise``, ``relative_changes``, ``random_effects``,
  ``tost_p``, ``worse_p``, ``equivalence_power``, ``evidence``, ``false_positive_rate``, ``verdict_table``, and for
  paired sets with a bootstrap over people ``paired_bootstrap_changes``, ``paired_units``, ``pool_evidence``, in
  ``otlatent.metrics.equivalence``
- calibration of a score on known degradations of real images: ``degrade``, ``degradation_ladder``,
  ``score_ladder``, ``sensitivity``, ``usable_scores`` in ``otlatent.metrics.calibration``
- PSNR, SSIM, MSE: ``reconstruction_quality`` in ``otlatent.metrics.reconstruction``
- the scoring classifier (a stand-in for Inception): ``SmallCNN``, ``train_classifier`` in ``otlatent.classifier``
- the run machinery: configs, resume, atomic checkpoints, reload: ``RunConfig``, ``Training``, ``finished_run``,
  ``batch_indices``, ``iteration_seed`` in ``otlatent.runs``
- the trained models of a notebook run (preset and paths), replicate models, held-out real halves: ``dcgan_for``,
  ``dcgans_for``, ``dcgan_replicates_for``, ``vae_for``, ``vae_replicates_for``, ``vae_roles``, ``person_tuples``,
  ``vae_scorer_for``, ``wae_replicates_for``, ``classifier_for``, ``real_halves_for``, ``images_for`` in
  ``otlatent.trained``
- a notebook's first call: ``start``, ``Study`` in ``otlatent.study``

Support modules: ``packs`` (model packs for classrooms), ``config`` (presets, dataset names, folders), ``data``
(loaders, caches, conversions), ``fetch`` (``make data``), ``backend`` (NumPy or torch in, the same out),
``runtime`` (seeds, devices, threads, atomic writes), ``precision`` (bf16/fp16/fp32 training),
``side_by_side`` (independent models in worker processes), ``explorer`` (the interactive latent explorer),
``reporting`` and ``plots`` (figures and tables),
``notebooks`` (``make reproduce``).

Every notebook starts with :func:`start` (preset, seed, device, data source) and reads all sizes from
``study.preset``.
"""

__version__ = "0.1.0"

from .study import Study, start  # noqa: E402

__all__ = ["Study", "start", "__version__"]
