"""The study's plumbing: dependency lists, notebook sources, parameters, presets, folders, data fetching."""

import ast
import io
import json
import re
import tarfile
from pathlib import Path

import jupytext
import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import otlatent
from otlatent import config, data, fetch, notebooks, runtime

ROOT = Path(__file__).resolve().parents[1]


def _requirement_names(lines):
    return {re.split(r"[<>=!~ \[]", line.strip(), maxsplit=1)[0].lower() for line in lines}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = project["dependencies"]
    pyproject = runtime + [d for extra in project["optional-dependencies"].values() for d in extra]
    pip_block = (ROOT / "environment.yml").read_text().split("- pip:", 1)[1]
    pip_reqs = [line.strip()[2:] for line in pip_block.splitlines() if line.strip().startswith("- ")]
    assert "-e .[test,lab,book]" in pip_reqs, "environment.yml must install the otlatent package, with its extras"
    pip_reqs.remove("-e .[test,lab,book]")
    assert sorted(pip_reqs) == sorted(pyproject), "environment.yml and pyproject.toml list different requirements"
    assert {"torch", "torchvision", "papermill", "nbval", "seaborn", "pandas", "jupyterlab"} <= _requirement_names(
        pyproject
    )
    assert not {"pytest", "hypothesis", "nbval", "jupyterlab", "ruff"} & _requirement_names(runtime), (
        "test and lab tools are extras, not runtime dependencies"
    )


def test_torch_213_is_excluded():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_req = next(d for d in deps if d.startswith("torch>") or d.startswith("torch="))
    assert "!=2.13.*" in torch_req


def _sources():
    return notebooks.notebook_sources()


def test_every_notebook_has_source_and_executed_copy():
    sources = _sources()
    assert sources, "no notebook sources found"
    for source in sources:
        assert source.with_suffix(".ipynb").exists(), f"{source.name} has no committed .ipynb"


@pytest.mark.parametrize("source", _sources(), ids=lambda p: p.stem)
def test_ipynb_is_in_sync_with_source(source):
    """The committed notebook's cells are the .py source's cells (plus papermill's injected parameters)."""
    src = [c.source.strip() for c in jupytext.read(source).cells]
    ipynb = jupytext.read(source.with_suffix(".ipynb"))
    executed = [c.source.strip() for c in ipynb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert executed == src, f"{source.with_suffix('.ipynb').name} is stale: run `make reproduce NB={source.stem[:2]}`"


@pytest.mark.parametrize("source", _sources(), ids=lambda p: p.stem)
def test_notebook_structure(source):
    nb = jupytext.read(source)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    assert code[0] is params[0], "the parameters cell is the first code cell"
    tree = ast.parse(params[0].source)
    for node in tree.body:
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant), (
            f"parameters cell must hold literal assignments only, got {ast.unparse(node)!r}"
        )
    names = {t.id for node in tree.body for t in node.targets}
    assert {"preset", "seed"} <= names
    assert f'otlatent.start("{source.stem}"' in code[1].source, "second code cell must call otlatent.start"
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert markdown[0].startswith(f"# {source.stem[:2]} "), "title first"
    assert any("What you will learn" in m for m in markdown[:2])
    assert any(m.lstrip("# ").startswith("Summary") for m in markdown), "a Summary section"
    assert any("Exercise" in m for m in markdown), "exercises"


@pytest.mark.parametrize("source", _sources(), ids=lambda p: p.stem)
def test_committed_notebook_has_outputs_and_no_errors(source):
    nb = json.loads(source.with_suffix(".ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert outputs, "committed notebook has no outputs: run `make reproduce`"
    assert not [o for o in outputs if o["output_type"] == "error"]
    injected = [c for c in code if "injected-parameters" in c["metadata"].get("tags", [])]
    assert all('preset = "cpu"' in "".join(c["source"]) for c in injected), "committed copy must be a cpu run"


def test_presets_are_complete_and_ordered():
    assert set(config.PRESETS) == {"smoke", "cpu", "paper", "paper-dry"}
    for name, preset in config.PRESETS.items():
        assert preset.name == name
    smoke, cpu = config.PRESETS["smoke"], config.PRESETS["cpu"]
    assert smoke.n_sim <= cpu.n_sim


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(preset="large"), "valid presets are 'smoke', 'cpu', 'paper'"),
        (dict(preset="smoke", dataset="cifar"), "valid datasets are 'synthetic'"),
        (dict(preset="smoke", seed=-1), "seed"),
        (dict(preset="smoke", device="tpu"), "not available"),
    ],
)
def test_start_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        otlatent.start("99_test", quiet=True, **kwargs)


def test_start_prints_data_source(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("OTLATENT_FIGURES", str(tmp_path))
    study = otlatent.start("99_test", preset="smoke", dataset="synthetic")
    out = capsys.readouterr().out
    assert "embedded procedural dataset" in out.splitlines()[1]
    assert study.fig_dir == tmp_path / "synthetic"
    otlatent.start("99_test", preset="smoke")
    assert "simulates all of its samples" in capsys.readouterr().out


def test_start_falls_back_when_the_dataset_is_missing(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("OTLATENT_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("OTLATENT_FIGURES", str(tmp_path / "figures"))
    study = otlatent.start("99_test", preset="smoke", dataset="lfw", fallback="synthetic")
    out = capsys.readouterr().out.splitlines()
    assert study.dataset == "synthetic" and study.fig_dir == tmp_path / "figures" / "synthetic"
    assert "embedded procedural dataset" in out[1] and "'lfw' was asked for but is not under" in out[2]
    lfw_dir = tmp_path / "full" / "lfw-deepfunneled" / "Some_One"
    lfw_dir.mkdir(parents=True)
    (lfw_dir / "Some_One_0001.jpg").write_bytes(b"")
    monkeypatch.setenv("OTLATENT_DATA", str(tmp_path / "full"))
    assert otlatent.start("99_test", preset="smoke", dataset="lfw", fallback="synthetic", quiet=True).dataset == "lfw"


def test_claims_are_recorded_and_saved(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OTLATENT_FIGURES", str(tmp_path))
    study = otlatent.start("07_x", preset="smoke", dataset="synthetic", quiet=True)
    assert study.claim("one is less than two", 1 < 2) is True
    assert study.claim("two is less than one", 2 < 1) is False
    out = capsys.readouterr().out
    assert "[holds] one is less than two" in out and "[does NOT hold] two is less than one" in out
    study.save_claims()
    lines = (tmp_path / "tables" / "07_claims_synthetic.csv").read_text().splitlines()
    assert lines == ["claim,holds", "one is less than two,True", "two is less than one,False"]


def test_seed_everything_is_reproducible():
    import torch

    a = (runtime.seed_everything(3).normal(size=3), torch.randn(3))
    b = (runtime.seed_everything(3).normal(size=3), torch.randn(3))
    assert (a[0] == b[0]).all() and torch.equal(a[1], b[1])


def test_relative_env_paths_are_taken_from_project_root(monkeypatch):
    monkeypatch.setenv("OTLATENT_DATA", "somewhere/data")
    assert config.data_root() == config.project_root() / "somewhere" / "data"


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "ckpt.pt"
    runtime.save_checkpoint({"step": 1}, target)

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        runtime.atomic_write(target, broken)
    assert runtime.load_checkpoint(target) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"], "no temporary file left behind"


def test_figures_and_tables_are_written(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    import pandas as pd

    monkeypatch.setenv("OTLATENT_FIGURES", str(tmp_path))
    study = otlatent.start("07_x", preset="smoke", quiet=True)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    study.savefig(fig, "line", caption="A line.")
    study.save_table(pd.DataFrame({"a": [1.5]}), "tab", caption="A table.")
    assert (tmp_path / "simulations" / "07_line.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "tables" / "07_tab.csv").read_text().splitlines() == [",a", "0,1.5"]
    assert "A table." in (tmp_path / "tables" / "07_tab.md").read_text()


def _tgz_with(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_unpack_archives_places_lfw_and_mnist(tmp_path, monkeypatch):
    archives, root = tmp_path / "archives", tmp_path / "root"
    (archives / "mnist").mkdir(parents=True)
    _tgz_with(archives / "lfw-deepfunneled.tgz", {"lfw-deepfunneled/A_B/A_B_0001.jpg": b"jpeg"})
    (archives / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"idx")
    sources = tuple(
        s if s.dataset not in ("lfw", "mnist") else fetch.Source(s.dataset, s.filename, s.dest, extract=s.extract)
        for s in fetch.SOURCES
    )
    monkeypatch.setattr(fetch, "SOURCES", sources)  # the fixtures cannot match the real checksums
    log = fetch.unpack_archives(archives, root)
    assert any("unpacked" in line for line in log)
    assert (root / "lfw-deepfunneled" / "A_B" / "A_B_0001.jpg").read_bytes() == b"jpeg"
    assert data.available("lfw", root) and data.available("mnist", root)
    assert not data.available("celeba", root) and data.available("synthetic", root)
    assert any("already" in line for line in fetch.unpack_archives(archives, root)), "second run is a no-op"


def test_unpack_archives_rejects_corrupt_archive(tmp_path):
    archives = tmp_path / "archives"
    archives.mkdir()
    _tgz_with(archives / "lfw-deepfunneled.tgz", {"x": b"not lfw"})
    with pytest.raises(ValueError, match="checksum does not match"):
        fetch.unpack_archives(archives, tmp_path / "root")


def test_download_without_public_source_says_how_to_get_it():
    lsun = next(s for s in fetch.SOURCES if s.dataset == "lsun")
    with pytest.raises(ValueError, match="fyu/lsun"):
        fetch.download(lsun)


def test_reproduce_runs_dataset_notebooks_once_per_dataset_or_on_their_own(monkeypatch):
    from otlatent.notebooks import _runs

    monkeypatch.setattr(notebooks, "datasets_present", lambda: ["synthetic", "mnist"])
    monkeypatch.setattr(
        notebooks,
        "parameters_of",
        lambda nb: {
            "01": {"preset": '"cpu"'},
            "05": {"preset": '"cpu"', "dataset": '"synthetic"'},
            "07": {"preset": '"cpu"', "dataset": '"lfw"'},
        }[nb],
    )
    assert _runs("01", None) == [None]
    assert _runs("05", None) == ["synthetic", "mnist"], "the GAN notebooks run on every dataset present"
    assert _runs("07", None) == ["lfw"], "the VAE notebooks run on their dataset (falling back themselves)"
    assert _runs("07", ["mnist"]) == ["mnist"], "--datasets overrides"


@pytest.mark.parametrize("script", sorted((ROOT / "benchmarks").glob("bench_*.py")), ids=lambda p: p.stem)
def test_benchmarks_import_and_parse_their_arguments(script):
    """Every benchmark's imports resolve against today's library (``--help`` exits after them)."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout


def test_large_figures_are_shown_inline_as_jpeg():
    import io

    from PIL import Image as PILImage

    from otlatent.reporting import INLINE_PNG_LIMIT, inline_image

    small = io.BytesIO()
    PILImage.new("RGB", (20, 20), "white").save(small, format="PNG")
    assert inline_image(small.getvalue()).format == "png"
    noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)  # a photograph-like PNG
    big = io.BytesIO()
    PILImage.fromarray(noise).save(big, format="PNG")
    assert len(big.getvalue()) > INLINE_PNG_LIMIT
    shown = inline_image(big.getvalue())
    assert shown.format == "jpeg" and shown.data[:2] == b"\xff\xd8"
    assert PILImage.open(io.BytesIO(shown.data)).size == (400, 400)
