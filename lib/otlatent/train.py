"""Train one model of a notebook run from the command line: on one device, or on many GPUs through ``torchrun``.

::

    python -m otlatent.train dcgan --dataset lsun --prior gaussian --preset paper [--seed 0] [--replicate 1]
    torchrun --standalone --nproc_per_node=8 -m otlatent.train dcgan --dataset lsun --prior gaussian --preset paper
    torchrun --standalone --nproc_per_node=8 -m otlatent.train vae --dataset lfw --preset paper

The model is configured exactly as the notebooks configure it (:func:`otlatent.trained.dcgan_config_for`,
:func:`otlatent.trained.vae_config_for`, replicate ``--replicate``: the same config, run name and folder under the
models root), so the notebooks
that use it (04-06 for a DCGAN, 07-08 for the VAE) reload it instead of training it, provided they run with the same
preset, seed, dataset and precision (the automatic precision depends on the machine: ``OTLATENT_PRECISION`` fixes
it). Under torchrun the processes share every global batch (:mod:`otlatent.distributed`); an interrupted run
resumes from its last checkpoint when the same command is run again, with any number of processes that divides the
batch.
"""

from __future__ import annotations

import argparse
import datetime

from . import distributed, trained
from .config import DATASETS, PRESETS
from .dcgan import train_dcgan
from .runtime import pick_device
from .study import start
from .vae import train_vae

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m otlatent.train", description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("dcgan", "vae"), help="a DCGAN (notebooks 04-06) or the VAE (07-08)")
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--prior", default="gaussian", choices=("gaussian", "uniform"), help="the DCGAN's prior")
    parser.add_argument("--preset", default="cpu", choices=tuple(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--replicate", type=int, default=0, help="replicate model r (seeded seed + r), as notebooks 06-07 train them"
    )
    parser.add_argument("--device", default=None, help="default: cuda, then mps, then cpu ($OTLATENT_DEVICE)")
    parser.add_argument("--precision", default=None, help="fp32, bf16 or fp16 (default: automatic)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return parser


def main(argv: list[str] | None = None):
    """Train (or resume, or reload) the model that ``argv`` names; return its run (a ``GANRun`` or ``VAERun``)."""
    args = _parser().parse_args(argv)
    # under torchrun: the process group and this rank's GPU; the others wait for rank 0 while it decodes a dataset
    # into its cache on the first run (long for LSUN's three million images), hence a long timeout
    device = distributed.start(pick_device(args.device), timeout=datetime.timedelta(hours=6))
    notebook = "04_dcgan_training" if args.model == "dcgan" else "07_vae_lfw"
    study = start(
        notebook, args.preset, args.seed, args.dataset, device, args.precision, quiet=not distributed.is_main()
    )
    with distributed.main_first():  # rank 0 decodes and caches the images, the others read its cache
        images = trained.images_for(study) if args.model == "dcgan" else trained.vae_images_for(study)[0]
    if distributed.world_size() > 1 and distributed.is_main():
        print(f"ranks:   {distributed.world_size()} processes (torchrun), each computing its shard of every batch")
    if args.replicate < 0:
        raise SystemExit(f"--replicate must be at least 0, got {args.replicate}")
    if args.model == "dcgan":
        config = trained.dcgan_config_for(study, args.prior, images, args.replicate)
        run = train_dcgan(images, config, device=study.device, progress=args.progress, **trained.dcgan_options(study))
    else:
        config = trained.vae_config_for(study, images, args.replicate)
        run = train_vae(
            images,
            config,
            device=study.device,
            checkpoint_minutes=study.preset.checkpoint_minutes,
            progress=args.progress,
        )
    if distributed.is_main():
        state = "finished" if run.iteration >= run.config.iterations else "stopped"
        print(f"{run.config.name}: {state} at iteration {run.iteration:,} of {run.config.iterations:,} -> {run.path}")
    distributed.stop()
    return run


if __name__ == "__main__":
    main()
