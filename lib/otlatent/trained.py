"""The trained models of a notebook run: each picks its sizes from the study's preset and its folder from the
config, and trains only when no finished model with an equal config is on disk.

Notebooks call these (``trained.dcgan_for(study, "gaussian")``); later notebooks get back what an earlier one
trained.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import data
from .classifier import ClassifierConfig, TrainedClassifier, split_indices, train_classifier
from .dcgan import GANConfig, GANRun, load_generator, train_dcgan
from .runs import finished_run
from .side_by_side import Job, run_side_by_side
from .vae import VAEConfig, VAERun, load_vae, train_vae
from .wae import WAEConfig, WAERun, load_wae, train_wae
from .wgan import WGANConfig, load_wgan_gp, train_wgan_gp

__all__ = [
    "iterations_for",
    "images_for",
    "dcgan_config_for",
    "dcgan_for",
    "dcgans_for",
    "dcgan_replicates_for",
    "dcgan_options",
    "train_job",
    "vae_images_for",
    "vae_config_for",
    "vae_for",
    "vae_replicates_for",
    "vae_roles",
    "person_tuples",
    "vae_scorer_for",
    "wgan_config_for",
    "wgan_replicates_for",
    "wae_resolution",
    "wae_nz",
    "wae_config_for",
    "wae_replicates_for",
    "classifier_for",
    "real_halves_for",
]


def iterations_for(n_images: int, preset, epochs: float | None = None, batch: int | None = None) -> int:
    """Iterations of ``epochs`` passes over ``n_images`` at ``batch`` images each (default: the preset's GAN
    schedule, ``preset.gan_epochs`` and ``preset.gan_batch``).
    """
    epochs = preset.gan_epochs if epochs is None else epochs
    batch = preset.gan_batch if batch is None else batch
    return max(1, int(np.ceil(epochs * n_images / batch)))


def images_for(study, resolution: int | None = None):
    """The training images of a notebook run: ``study.dataset`` at the preset's resolution and image limit."""
    preset = study.preset
    return data.load(study.dataset, resolution or preset.gan_resolution, n=preset.gan_max_images, seed=study.seed)


def dcgan_config_for(study, prior: str, images, replicate: int = 0) -> GANConfig:
    """The DCGAN config of a notebook run: ``study``'s dataset, preset and precision, with ``prior``; replicate
    ``r`` is seeded ``study.seed + r`` (same training images, another initialisation and batch order).
    """
    preset = study.preset
    return GANConfig(
        **_gan_fields(study, prior, images, replicate),
        width=preset.gan_width,
        iterations=iterations_for(len(images), preset),
        precision=study.precision,
    )


def _gan_fields(study, prior: str, images, replicate: int) -> dict:
    """The config fields every GAN of a notebook run shares: dataset, prior, the DCGAN resolution and batch size,
    the images' channels, replicate ``r``'s seed ``study.seed + r`` and the preset's name.
    """
    preset = study.preset
    return dict(
        dataset=study.dataset,
        prior=prior,
        resolution=preset.gan_resolution,
        nc=images.images_u8.shape[1],
        batch_size=preset.gan_batch,
        seed=study.seed + replicate,
        preset=preset.name,
    )


def dcgan_for(study, prior: str, images=None, progress: bool = True) -> GANRun:
    """Train (or reload) the DCGAN of a notebook run: ``study``'s dataset, preset and seed, with ``prior``.

    The model lives in ``config.run_dir()``; notebooks 05-06 call this
    same function and get the trained model back without retraining.
    """
    images = images if images is not None else images_for(study)
    config = dcgan_config_for(study, prior, images)
    return train_dcgan(images, config, device=study.device, progress=progress, **dcgan_options(study))


def dcgan_options(study) -> dict:
    """The training options of a notebook run's DCGANs that are not part of their config."""
    return {"checkpoint_minutes": study.preset.checkpoint_minutes, "calibration": study.preset.gan_calibration}


def train_job(config, images, run_dir=None, device: str = "cpu", **options) -> str:
    """Train the run of ``config`` (a :class:`GANConfig`, :class:`WGANConfig`, :class:`VAEConfig` or
    :class:`WAEConfig`) on ``images``; return the path of its finished model. The job a worker of
    :func:`otlatent.side_by_side.run_side_by_side` runs; ``options`` go to the config's trainer
    (:func:`~otlatent.dcgan.train_dcgan`, :func:`~otlatent.wgan.train_wgan_gp`, :func:`~otlatent.vae.train_vae`,
    :func:`~otlatent.wae.train_wae`: ``checkpoint_minutes``, ...).
    """
    trainers = {GANConfig: train_dcgan, WGANConfig: train_wgan_gp, VAEConfig: train_vae, WAEConfig: train_wae}
    train = trainers[type(config)]
    return str(train(images, config, run_dir, device=device, **options).path)


def dcgans_for(study, priors=("gaussian", "uniform"), images=None, workers: int | None = None) -> dict[str, GANRun]:
    """The DCGANs of a notebook run, one per prior (replicate 0): reloaded when finished, the others trained side by
    side (:mod:`otlatent.side_by_side`: one worker process per model where there are spare cores).

    Returns ``{prior: GANRun}`` as :func:`dcgan_for` would, each reloaded from its finished model.
    """
    runs = dcgan_replicates_for(study, priors, images, workers, replicates=1)
    return {prior: runs[prior, 0] for prior in priors}


def dcgan_replicates_for(
    study, priors=("gaussian", "uniform"), images=None, workers: int | None = None, replicates: int | None = None
) -> dict[tuple[str, int], GANRun]:
    """``replicates`` (default ``study.preset.gan_replicates``) independently seeded DCGANs per prior
    (:func:`dcgan_config_for`), as ``{(prior, replicate): GANRun}``: the finished ones reloaded, the others
    trained side by side, every model in its own run folder.
    """
    images = images if images is not None else images_for(study)
    replicates = study.preset.gan_replicates if replicates is None else replicates
    configs = {(p, r): dcgan_config_for(study, p, images, r) for r in range(replicates) for p in priors}
    return _finished_or_trained(configs, images, load_generator, study.device, dcgan_options(study), workers)


def _finished_or_trained(configs: dict, images, load, device: str, options: dict, workers: int | None) -> dict:
    """``{key: run}`` for ``{key: config}``: finished runs reloaded (``load``), the others trained side by side
    (:func:`train_job` with ``options``) and then reloaded.
    """
    runs, jobs, names = {}, [], {}
    for key, config in configs.items():
        _, _, finished = finished_run(config, images.images_u8, None, load, device)
        if finished is not None:
            runs[key] = finished
        else:
            names[config.name] = key
            jobs.append(Job(config.name, train_job, {"config": config, "images": images, "device": device, **options}))
    for name, path in run_side_by_side(jobs, workers).items():
        runs[names[name]] = load(path, device)
    return {key: runs[key] for key in configs}


def vae_images_for(study, resolution: int | None = None):
    """``(train, test)`` image sets of a notebook run: ``study.dataset`` at the preset's VAE resolution (or at
    ``resolution``: the same images in the same order).

    The first ``preset.vae_max_images`` images in file order are loaded and the **last** ``preset.vae_test`` of
    them (at most a fifth) are held out.  LFW's files are sorted by person: held-out images of the person whose
    images straddle the cut are dropped, so the held-out faces belong to people the VAE never saw, and the held-out
    set's ``labels`` are person indices (0, 1, ... in file order) — faces of one person are not independent samples.
    """
    preset = study.preset
    images = data.load(study.dataset, resolution or preset.vae_resolution, n=preset.vae_max_images, seed=study.seed)
    cut = len(images) - min(preset.vae_test, len(images) // 5)
    labels = images.labels
    if study.dataset == "lfw":
        people = images.identities  # the persons of the loaded (cached) images, not of today's file list
        if people is None or len(people) != len(images):
            raise ValueError(
                "the LFW images were loaded without the person of every image; delete the LFW cache "
                f"(under {data.cache_root()}) and reload"
            )
        start = cut
        while start < len(images) and people[start] == people[cut - 1]:
            start += 1  # the boundary person has training images: not held out
        if start == len(images):
            raise ValueError(f"no held-out person: the last {len(images) - cut} images are all of {people[cut]}")
        labels = pd.factorize(people)[0].astype(np.int64)
        labels -= labels[start]
        return (
            data.ImageSet(images.name, images.images_u8[:cut], None, images.source, people[:cut]),
            data.ImageSet(images.name, images.images_u8[start:], labels[start:], images.source, people[start:]),
        )

    def part(sl):
        return data.ImageSet(images.name, images.images_u8[sl], None if labels is None else labels[sl], images.source)

    return part(slice(0, cut)), part(slice(cut, None))


def vae_config_for(study, train_images, replicate: int = 0) -> VAEConfig:
    """The VAE config of a notebook run: ``study``'s dataset, preset and precision, a learned likelihood scale
    (initialised at 0.1) and the preset's ``vae_*`` sizes; replicate ``r`` is seeded ``study.seed + r``.
    """
    preset = study.preset
    return VAEConfig(
        dataset=study.dataset,
        resolution=preset.vae_resolution,
        nc=train_images.images_u8.shape[1],
        width=preset.vae_width,
        batch_size=preset.vae_batch,
        iterations=iterations_for(len(train_images), preset, preset.vae_epochs, preset.vae_batch),
        sigma=0.1,
        learn_sigma=True,
        seed=study.seed + replicate,
        preset=preset.name,
        precision=study.precision,
    )


def vae_for(study, train_images=None, progress: bool = True) -> VAERun:
    """Train (or reload) the VAE of a notebook run (replicate 0 of :func:`vae_config_for`).

    The model lives in ``<data root>/models/<config.name>/``, so notebook 08 reloads what notebook 07 trained.
    """
    if train_images is None:
        train_images, _ = vae_images_for(study)
    config = vae_config_for(study, train_images)
    return train_vae(
        train_images,
        config,
        device=study.device,
        checkpoint_minutes=study.preset.checkpoint_minutes,
        progress=progress,
    )


def vae_replicates_for(
    study, train_images=None, workers: int | None = None, replicates: int | None = None
) -> list[VAERun]:
    """``replicates`` (default ``study.preset.vae_replicates``) independently seeded VAEs on the same training
    images, ``[replicate 0, 1, ...]``: the finished ones reloaded, the others trained side by side (one worker
    process per model where there are spare cores), every model in its own run folder.
    """
    if train_images is None:
        train_images, _ = vae_images_for(study)
    replicates = study.preset.vae_replicates if replicates is None else replicates
    configs = {r: vae_config_for(study, train_images, r) for r in range(replicates)}
    options = {"checkpoint_minutes": study.preset.checkpoint_minutes}
    runs = _finished_or_trained(configs, train_images, load_vae, study.device, options, workers)
    return [runs[r] for r in range(replicates)]


def wae_resolution(study) -> int:
    """The image side of notebook 09's WAEs: 28 px for MNIST (the report's setting), else the VAE's."""
    return 28 if study.dataset == "mnist" else study.preset.vae_resolution


def wae_nz(study) -> int:
    """The latent dimension of notebook 09's WAEs: 8 for MNIST, 64 for faces (the WAE paper's settings)."""
    return 8 if study.dataset == "mnist" else 64


def wae_config_for(study, objective: str, train_images, replicate: int = 0) -> WAEConfig:
    """The WAE config of a notebook run: ``objective`` (``"mmd"`` or ``"gan"``) on ``study``'s dataset with the
    report's optimiser (Adam, lr 1e-3, beta1 0.5, lambda 10), :func:`wae_resolution`, :func:`wae_nz`, the preset's
    ``wae_*`` sizes and the VAE's batch size; replicate ``r`` is seeded ``study.seed + r``.
    """
    preset = study.preset
    return WAEConfig(
        dataset=study.dataset,
        objective=objective,
        resolution=wae_resolution(study),
        nc=train_images.images_u8.shape[1],
        nz=wae_nz(study),
        width=preset.wae_width,
        batch_size=preset.vae_batch,
        iterations=iterations_for(len(train_images), preset, preset.wae_epochs, preset.vae_batch),
        seed=study.seed + replicate,
        preset=preset.name,
        precision=study.precision,
    )


def wae_replicates_for(
    study, objectives=("mmd", "gan"), train_images=None, workers: int | None = None, replicates: int | None = None
) -> dict[tuple[str, int], WAERun]:
    """``replicates`` (default ``study.preset.wae_replicates``) independently seeded WAEs per objective
    (:func:`wae_config_for`), as ``{(objective, replicate): WAERun}``: the finished ones reloaded, the others
    trained side by side, every model in its own run folder.
    """
    if train_images is None:
        train_images, _ = vae_images_for(study, wae_resolution(study))
    replicates = study.preset.wae_replicates if replicates is None else replicates
    configs = {(o, r): wae_config_for(study, o, train_images, r) for r in range(replicates) for o in objectives}
    options = {"checkpoint_minutes": study.preset.checkpoint_minutes}
    return _finished_or_trained(configs, train_images, load_wae, study.device, options, workers)


def wgan_config_for(study, prior: str, train_images, replicate: int = 0) -> WGANConfig:
    """The WGAN-GP config of notebook 10: ``prior`` (128-D, as the paper's iWGAN) on ``study``'s dataset with
    Algorithm 1's defaults (lambda 10, n_critic 5, Adam 1e-4, betas (0, 0.9)), the DCGAN's resolution and batch size,
    the preset's ``wgan_width`` and ``wgan_iterations``; replicate ``r`` is seeded ``study.seed + r``.
    """
    preset = study.preset
    return WGANConfig(
        **_gan_fields(study, prior, train_images, replicate),
        width=preset.wgan_width,
        iterations=preset.wgan_iterations,
    )  # float32 always: train_wgan_gp has no autocast (the penalty's double backward stays in float32)


def wgan_replicates_for(
    study, priors=("gaussian", "uniform"), train_images=None, workers: int | None = None, replicates: int | None = None
) -> dict[tuple[str, int], GANRun]:
    """``replicates`` (default ``study.preset.gan_replicates``) independently seeded WGAN-GPs per prior
    (:func:`wgan_config_for`), as ``{(prior, replicate): GANRun}``, trained side by side where not finished.

    They train on the VAE's training images (:func:`vae_images_for` at the DCGAN's resolution), so that every
    held-out face (the scores' reference and real-data row) is of a person no model of notebook 10 but the DCGANs saw.
    """
    if train_images is None:
        train_images, _ = vae_images_for(study, study.preset.gan_resolution)
    replicates = study.preset.gan_replicates if replicates is None else replicates
    configs = {(p, r): wgan_config_for(study, p, train_images, r) for r in range(replicates) for p in priors}
    options = dcgan_options(study)
    return _finished_or_trained(configs, train_images, load_wgan_gp, study.device, options, workers)


def vae_roles(test_images, max_per_person: int = 6, seed: int = 0) -> pd.Series:
    """The role of every held-out VAE image: ``"reference"``, ``"exploration"``, ``"confirmation"`` or
    ``"unused"``, indexed like ``test_images``.

    The held-out people (``test_images.labels``, person indices in file order) are cut in two blocks at the middle
    image: the **later** block is where the study first explored (it was the whole held-out set before the
    confirmation block existed), the **earlier** one is kept aside to confirm what was found there. In each block a
    seeded half of the people go to the FID/KID **reference** (shared by both blocks), the others are encoded. At
    most ``max_per_person`` images of a person are used (a seeded choice), so that no one person dominates a set
    (LFW's held-out tail has 144 images of Tony Blair); the rest are ``"unused"``.
    Without persons (``test_images.identities`` is None: not LFW) every image is its own person.
    """
    n = len(test_images)
    person = np.asarray(test_images.labels) if test_images.identities is not None else np.arange(n)
    rng = np.random.default_rng(seed + 11)
    cut = person[n // 2]
    block = np.where(person >= cut, "exploration", "confirmation")
    roles = block.astype(object)
    for name in ("exploration", "confirmation"):
        people = rng.permutation(np.unique(person[block == name]))
        ref = set(people[: len(people) // 2].tolist())
        roles[(block == name) & np.isin(person, list(ref))] = "reference"
    keep = np.zeros(n, bool)
    for p in rng.permutation(np.unique(person)):
        idx = np.flatnonzero(person == p)
        keep[rng.permutation(idx)[:max_per_person]] = True
    roles[~keep] = "unused"
    return pd.Series(roles, name="role")


def person_tuples(person, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Endpoints of midpoints made of ``k`` **different people** each, in independent groups of people.

    The people (``person``, one label per image) are shuffled and cut into groups of ``k`` (the remainder is
    dropped); a group whose people have at least ``m`` images each gives ``m`` midpoints, the ``j``-th made of the
    ``j``-th image (in a seeded order) of each person, so every image is used at most once and the positions are
    exchangeable: the set of first endpoints has the law of the set of second ones. Returns ``(endpoints, group)``:
    ``endpoints`` of shape ``(k, n)`` (indices into ``person``) and the group of every midpoint, the unit of a
    bootstrap over people (:func:`otlatent.metrics.paired_bootstrap_changes`).
    """
    person = np.asarray(person)
    rng = np.random.default_rng(seed)
    people = rng.permutation(np.unique(person))
    images = {p: rng.permutation(np.flatnonzero(person == p)) for p in people}
    ends, groups = [], []
    for g in range(len(people) // k):
        members = people[g * k : (g + 1) * k]
        m = min(len(images[p]) for p in members)
        ends.append(np.stack([images[p][:m] for p in members]))
        groups.append(np.full(m, g))
    if len(ends) < 2:
        raise ValueError(
            f"{len(people)} people make {len(ends)} group(s) of {k}: a bootstrap over people needs at least 2 "
            "(hold out more images: the preset's vae_test and vae_max_images)"
        )
    return np.concatenate(ends, axis=1), np.concatenate(groups)


def vae_scorer_for(study, train_images, progress: bool = True) -> TrainedClassifier:
    """The scoring classifier of notebook 07: as :func:`classifier_for`, but trained (and tested) only on the VAE's
    training images (``train_images``, the first images in file order), at the preset's GAN resolution, so that
    no held-out person of the VAE (reference, real-data row or encoded face) was seen by its features.
    """
    preset = study.preset
    images = data.load(study.dataset, preset.gan_resolution, n=preset.vae_max_images, seed=study.seed)
    n = len(train_images)
    if images.identities is not None and list(images.identities[:n]) != list(train_images.identities):
        raise ValueError("the scorer's images are not the VAE's training images in the same order; clear the cache")
    x, labels = images.images_u8[:n], None if images.labels is None else images.labels[:n]
    config = _classifier_config(study, images, labels is not None, n, subset="vae-train")
    return train_classifier(x, labels, config, device=study.device, progress=progress)


def _classifier_config(study, images, labelled: bool, n: int, subset: str = "") -> ClassifierConfig:
    """The scoring classifier's config of a notebook run, for ``n`` images like ``images`` (labels or rotation)."""
    preset = study.preset
    return ClassifierConfig(
        dataset=study.dataset,
        task="labels" if labelled else "rotation",
        num_classes=images.num_classes if labelled else 4,
        nc=images.images_u8.shape[1],
        resolution=preset.gan_resolution,
        width=preset.clf_width,
        epochs=preset.clf_epochs,
        n_train=preset.clf_train,
        n_test=min(preset.clf_test, n // 5),
        seed=study.seed,
        preset=preset.name,
        subset=subset,
    )


def _classifier_images(study):
    """The images the classifier of a notebook run is trained and tested on (see :func:`classifier_for`)."""
    preset = study.preset
    if study.dataset == "synthetic":
        return data.make_synthetic(preset.clf_train + preset.clf_test, preset.gan_resolution, seed=study.seed + 1)
    return data.load(study.dataset, preset.gan_resolution, n=preset.gan_max_images, seed=study.seed)


def real_halves_for(study, clf: TrainedClassifier) -> tuple[np.ndarray, np.ndarray]:
    """The held-out real images of ``clf`` (never trained on) in two disjoint halves: ``(reference, real)``.

    ``reference`` is the real set every FID and KID is computed against; ``real`` is scored like a generated set, the
    real-data row of a table. LFW is split by person (a seeded half of the held-out people each, so that no face in
    the real row has the same person in the reference); other datasets by a seeded permutation.
    """
    images = _classifier_images(study)
    _, test_idx = split_indices(len(images), clf.config.n_train, clf.config.n_test, clf.config.seed)
    rng = np.random.default_rng(study.seed + 7)
    if study.dataset == "lfw" and images.identities is not None:
        people = np.asarray(images.identities)[test_idx]
        names = rng.permutation(np.unique(people))
        counts = pd.Series(people).value_counts()
        cum = np.cumsum(counts.reindex(names).to_numpy())
        ref_people = set(names[: int(np.searchsorted(cum, len(test_idx) / 2)) + 1])
        in_ref = np.array([p in ref_people for p in people])
    else:
        in_ref = np.zeros(len(test_idx), bool)
        in_ref[rng.permutation(len(test_idx))[: len(test_idx) // 2]] = True
    x = images.images_u8[test_idx]
    return x[in_ref], x[~in_ref]


def classifier_for(study, progress: bool = True) -> tuple[TrainedClassifier, np.ndarray]:
    """The classifier of a notebook run and the held-out real images (uint8) it was tested on.

    ``study.dataset`` at the preset's GAN resolution: its labels where it has them (task ``"labels"``),
    rotation prediction otherwise.  Synthetic images are drawn with a seed different from the GAN's
    training images (``study.seed + 1``); file datasets are split by :func:`split_indices`.  The held-out
    images are the real reference set for FID and KID.
    """
    images = _classifier_images(study)
    config = _classifier_config(study, images, images.labels is not None, len(images))
    run = train_classifier(images.images_u8, images.labels, config, device=study.device, progress=progress)
    _, test_idx = split_indices(len(images), config.n_train, config.n_test, config.seed)
    return run, images.images_u8[test_idx]
