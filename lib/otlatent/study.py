"""What every notebook does first: check its parameters, seed, pick a device, say where data comes from."""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path

import numpy as np

from . import __version__
from .config import Preset, check_dataset, data_root, figures_root, get_preset, project_root
from .precision import describe_precision, pick_precision
from .reporting import save_table, savefig
from .runtime import pick_device, seed_everything
from .side_by_side import describe_workers

__all__ = ["Study", "start"]


@dataclasses.dataclass
class Study:
    """The context of one notebook run (returned by :func:`start`).

    Attributes
    ----------
    notebook : str
        The notebook's number and topic, e.g. ``"01_optimal_transport_1d"``.
    preset : Preset
        All sizes for this run.
    seed : int
        The seed every random draw of the notebook derives from.
    rng : numpy.random.Generator
        A generator seeded with ``seed``.
    device : str
        Where torch computations run.
    precision : str
        What the training runs compute in (``fp32``, ``bf16``, ``fp16``: :mod:`otlatent.precision`).
    dataset : str or None
        The dataset this run uses, ``None`` for simulation-only notebooks.
    fig_dir, table_dir : Path
        Where :meth:`savefig` and :meth:`save_table` write.
    """

    notebook: str
    preset: Preset
    seed: int
    rng: np.random.Generator
    device: str
    dataset: str | None
    fig_dir: Path
    table_dir: Path
    precision: str = "fp32"
    _figures: int = 0
    _tables: int = 0
    claims: list = dataclasses.field(default_factory=list)

    @property
    def number(self) -> str:
        return self.notebook.split("_", 1)[0]

    def savefig(self, fig, name: str, caption: str | None = None) -> None:
        """Save ``fig`` as ``<fig_dir>/<NN>_<name>.png`` and show it with a numbered caption."""
        self._figures += 1
        label = f"**Figure {self.number}.{self._figures}.**"
        savefig(fig, self.fig_dir / f"{self.number}_{name}", caption=f"{label} {caption}" if caption else None)

    def claim(self, statement: str, holds) -> bool:
        """Check a claim that the prose makes about this run's measured numbers, print and record it.

        For claims about trained models, which need not hold at the ``smoke`` preset (an untrained model): they are
        checked and reported, not asserted.  :meth:`save_claims` writes them as a table.
        """
        holds = bool(holds)
        self.claims.append({"claim": statement, "holds": holds})
        print(f"[{'holds' if holds else 'does NOT hold'}] {statement}")
        return holds

    def save_claims(self, caption: str | None = None) -> None:
        """Save the claims recorded by :meth:`claim` as the table ``<NN>_claims[_<dataset>]``."""
        import pandas as pd

        table = pd.DataFrame(self.claims, columns=["claim", "holds"]).set_index("claim")
        self.save_table(
            table,
            "claims",
            caption=caption
            or (f"The claims of this notebook's summary, checked on this run (preset `{self.preset.name}`)."),
        )

    def save_table(self, df, name: str, caption: str | None = None, **kwargs) -> None:
        """Save ``df`` as ``<table_dir>/<NN>_<name>[_<dataset>].csv`` and ``.md`` and show it."""
        self._tables += 1
        label = f"**Table {self.number}.{self._tables}.**"
        suffix = f"_{self.dataset}" if self.dataset else ""
        save_table(
            df,
            self.table_dir / f"{self.number}_{name}{suffix}",
            caption=f"{label} {caption}" if caption else None,
            **kwargs,
        )


def _short(path: Path) -> str:
    """``path`` relative to the project root when inside it (outputs then read the same on every machine)."""
    try:
        return str(path.relative_to(project_root()))
    except ValueError:
        return str(path)


def start(
    notebook: str,
    preset: str,
    seed: int = 0,
    dataset: str | None = None,
    device: str | None = None,
    precision: str | None = None,
    quiet: bool = False,
    fallback: str | None = None,
) -> Study:
    """Validate a notebook's parameters and set up its run.

    Parameters
    ----------
    notebook : str
        The notebook's file stem, e.g. ``"01_optimal_transport_1d"``.
    preset : str
        ``"smoke"``, ``"cpu"`` or ``"paper"`` (see :mod:`otlatent.config`).
    seed : int
        Seeds Python, NumPy and torch.
    dataset : str, optional
        A name from :data:`otlatent.config.DATASETS`; ``None`` for notebooks that
        simulate their own samples.
    device : str, optional
        Overrides the automatic choice (cuda, then mps, then cpu).
    precision : str, optional
        Overrides the automatic choice of :func:`otlatent.precision.pick_precision` (as ``OTLATENT_PRECISION``).
    fallback : str, optional
        The dataset to use instead when ``dataset``'s files are not under the data root (the run says so in
        its first output); without it a missing dataset is an error when the notebook loads it.

    Raises
    ------
    ValueError
        For an unknown preset or dataset, listing the valid names.
    """
    cfg = get_preset(preset)
    missing = None
    if dataset is not None:
        check_dataset(dataset)
        if fallback is not None:
            from .data import available

            check_dataset(fallback)
            if not available(dataset):
                missing, dataset = dataset, fallback
    rng = seed_everything(seed)
    dev = pick_device(device)
    prec = pick_precision(dev, precision)
    from .plots import set_style

    set_style()
    sub = dataset if dataset is not None else "simulations"
    study = Study(
        notebook=notebook,
        preset=cfg,
        seed=int(seed),
        rng=rng,
        device=dev,
        dataset=dataset,
        fig_dir=figures_root() / sub,
        table_dir=figures_root() / "tables",
        precision=prec,
    )
    if not quiet:
        if dataset is None:
            data_line = "none needed: this notebook simulates all of its samples"
        elif dataset == "synthetic":
            data_line = "the study's embedded procedural dataset 'synthetic' (generated on this machine, no download)"
        else:
            data_line = f"{dataset!r} under {_short(data_root())}"
        print(f"otlatent {__version__} | notebook {notebook} | python {platform.python_version()}")
        if missing is not None:
            data_line += (
                f"\n         ({missing!r} was asked for but is not under {_short(data_root())}: "
                f"`make data` gets it; this run uses {dataset!r} instead)"
            )
        print(f"data:    {data_line}")
        print(f"preset:  {cfg.name} ({cfg.description})")
        print(f"         {cfg.summary()}")
        print(f"seed:    {seed} | device: {dev} | figures -> {_short(study.fig_dir)}")
        print(f"compute: {describe_precision(dev, prec)}")
        print(f"         {describe_workers()}")
    return study
