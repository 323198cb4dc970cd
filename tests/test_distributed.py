"""Many processes, one model (otlatent.distributed): two gloo processes on CPU under torchrun train the model that one
process trains with the same global batch, resume from rank 0's checkpoint, and normalise with global statistics.

The two-process runs are torchrun launches of tests/ddp_worker.py (about 40 s of the module's time on a shared
2-core machine); the other tests need no second process.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from otlatent import data, distributed
from otlatent.dcgan import GANConfig, Generator, load_generator, train_dcgan
from otlatent.vae import VAEConfig, train_vae

sys.path.insert(0, str(Path(__file__).parent))
import ddp_worker  # noqa: E402

WORKER = Path(__file__).with_name("ddp_worker.py")
#: Measured with two gloo ranks (float32, 8 iterations): at most 1.2e-7 on a DCGAN weight and 1.5e-7 on its losses,
#: 3e-8 on a VAE weight and 1e-7 relative on its ELBO terms (about 2e-3 nats of thousands); a resumed run: 0.
TOL = dict(rtol=1e-4, atol=1e-5)


def torchrun(out: Path, *jobs: str) -> None:
    lib = str(Path(distributed.__file__).parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([lib, os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
        "OTLATENT_PROGRESS": "0",
    }
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER), str(out)]
    done = subprocess.run([*cmd, *jobs], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]


def _load(path):
    return torch.load(path, weights_only=False)


def _assert_close(a: dict, b: dict, what: str) -> None:
    """Equal keys, equal counters, floats within TOL."""
    assert a.keys() == b.keys(), what
    for k in a:
        x, y = torch.as_tensor(a[k]), torch.as_tensor(b[k])
        if x.is_floating_point():
            torch.testing.assert_close(x.double(), y.double(), **TOL, msg=f"{what}: {k}")
        else:
            assert torch.equal(x, y), f"{what}: {k}"


@pytest.fixture(scope="module")
def images():
    return data.make_synthetic(128, 32, seed=0)


def test_two_processes_train_and_resume_the_one_process_model(images, tmp_path):
    """One test, so that ``pytest -n auto`` never launches the two-process runs twice. Two launches: the first trains a
    DCGAN and a VAE to the end, a DCGAN stopped after 3 iterations, and checks the global batch norm; the second, new
    processes, resumes the stopped DCGAN from rank 0's checkpoint.
    """
    out = tmp_path / "ranks"
    out.mkdir()
    torchrun(out, "bn", f"gan:dcgan:{out / 'gan'}", f"vae:vae:{out / 'vae'}", f"part:dcgan:{out / 'part'}:3")
    part = _load(out / "part.pt")
    assert part["iteration"] == 3 and not (out / "part" / "model.pt").exists()
    torchrun(out, f"resumed:dcgan:{out / 'part'}")
    _check_dcgan(out, images, tmp_path / "one")
    _check_resume(out)
    _check_vae(out, images, tmp_path / "one_vae")
    for dtype in ("fp32", "bf16"):
        _check_batchnorm(out, dtype)


def _check_dcgan(out, images, run_dir):
    two = _load(out / "gan.pt")
    assert two["world"] == 2 and two["iteration"] == 8
    one = train_dcgan(images, GANConfig(**ddp_worker.GAN, preset="smoke"), run_dir, progress=False, n_snapshots=2)
    _assert_close(one.generator.state_dict(), two["G"], "generator")
    _assert_close(one.discriminator.state_dict(), two["D"], "discriminator")
    _assert_close(one.history, two["history"], "history")
    torch.manual_seed(ddp_worker.GAN["seed"])
    init = Generator(one.config.nz, one.config.nc, one.config.width, one.config.resolution)
    assert (two["G"]["net.0.weight"] - init.net[0].weight).abs().max() > 100 * TOL["atol"], "training moved it"
    # rank 0's model.pt is the plain generator, reloaded in one process
    saved = load_generator(out / "gan" / "model.pt")
    _assert_close(saved.generator.state_dict(), two["G"], "saved generator")
    assert [s[0] for s in saved.snapshots] == [s[0] for s in one.snapshots] == [0, 8]


def _check_resume(out):
    straight, resumed = _load(out / "gan.pt"), _load(out / "resumed.pt")
    assert resumed["iteration"] == 8
    for part in ("G", "D"):
        _assert_close(straight[part], resumed[part], part)
    _assert_close(straight["history"], resumed["history"], "history")
    assert load_generator(out / "part" / "model.pt").iteration == 8


def _check_vae(out, images, run_dir):
    two = _load(out / "vae.pt")
    one = train_vae(images, VAEConfig(**ddp_worker.VAE, preset="smoke"), run_dir, progress=False)
    _assert_close(one.model.state_dict(), two["model"], "vae")
    _assert_close(one.history, two["history"], "history")


def _check_batchnorm(out, dtype):
    """Values, gradients and running statistics of nn.BatchNorm2d on the concatenated batch, also under autocast."""
    ranks = [_load(out / f"bn_rank{r}.pt")[dtype] for r in (0, 1)]
    x, g, weight, bias = ddp_worker.bn_batch(torch.float32 if dtype == "fp32" else torch.bfloat16)
    bn = torch.nn.BatchNorm2d(6)
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
    x = x.float().requires_grad_()
    y = bn(x)
    (y * g).sum().backward()
    assert all(r["y"].dtype == torch.float32 for r in ranks), "float32 out of autocast, as FP32BatchNorm2d"
    tol = dict(rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.cat([r["y"] for r in ranks]), y.detach(), **tol)
    # the input's gradient comes back in the input's type: bfloat16 rounding (8 bits) under autocast
    grad_tol = tol if dtype == "fp32" else dict(rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(torch.cat([r["x_grad"] for r in ranks]).float(), x.grad, **grad_tol)
    torch.testing.assert_close(ranks[0]["weight_grad"] + ranks[1]["weight_grad"], bn.weight.grad, **tol)
    torch.testing.assert_close(ranks[0]["bias_grad"] + ranks[1]["bias_grad"], bn.bias.grad, **tol)
    for r in ranks:
        torch.testing.assert_close(r["running_mean"], bn.running_mean, **tol)
        torch.testing.assert_close(r["running_var"], bn.running_var, **tol)
        assert r["num_batches_tracked"] == bn.num_batches_tracked == 1


def test_a_batch_that_does_not_split_evenly_is_refused(images, tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "world_size", lambda: 3)
    assert distributed.shard_size(18) == 6
    with pytest.raises(ValueError, match="batch size 16 is not divisible by the 3 ranks"):
        distributed.shard(torch.zeros(16, 2))
    with pytest.raises(ValueError, match="not divisible"):
        train_dcgan(images, GANConfig(**ddp_worker.GAN, preset="smoke"), tmp_path, progress=False)
    with pytest.raises(ValueError, match="not divisible"):
        train_vae(images, VAEConfig(**ddp_worker.VAE, preset="smoke"), tmp_path, progress=False)
    assert not any(tmp_path.iterdir()), "refused before anything is written"


def test_one_process_is_untouched():
    """Without torchrun every helper is a pass-through: the single-process loops are the code they were."""
    assert not distributed.launched() and distributed.world_size() == 1 and distributed.is_main()
    assert distributed.start("cuda") == "cuda"
    x, net = torch.zeros(5, 2), torch.nn.Sequential(torch.nn.BatchNorm2d(3))
    assert distributed.shard(x) is x and distributed.wrap(net) is net
    assert type(net[0]) is torch.nn.BatchNorm2d, "batch norm converted only with several ranks"
    assert distributed.mean_over_ranks(a=1.5, b=2.0) == {"a": 1.5, "b": 2.0}
    with distributed.main_first():
        pass
    distributed.barrier()


def test_batchnorm_conversion_keeps_the_tensors():
    from otlatent.dcgan import Generator

    G = Generator(nz=10, nc=3, width=4, resolution=32)
    before = {k: v for k, v in G.state_dict(keep_vars=True).items()}
    distributed.global_batchnorm(G)
    assert sum(isinstance(m, distributed.GlobalBatchNorm2d) for m in G.modules()) == 3
    after = G.state_dict(keep_vars=True)
    assert before.keys() == after.keys() and all(before[k] is after[k] for k in before)
    distributed.local_batchnorm(G)
    assert not any(isinstance(m, distributed.GlobalBatchNorm2d) for m in G.modules())
    assert all(before[k] is v for k, v in G.state_dict(keep_vars=True).items())


def test_the_launcher_trains_the_notebooks_model(monkeypatch, tmp_path):
    """``python -m otlatent.train dcgan ...`` trains the config (and so the run folder) of ``trained.dcgan_for``."""
    from types import SimpleNamespace

    import otlatent
    from otlatent import train, trained

    asked = {}

    def stand_in(images, config, **kw):
        asked["config"] = config
        return SimpleNamespace(config=config, iteration=config.iterations, path=tmp_path)

    monkeypatch.setattr(train, "train_dcgan", stand_in)
    monkeypatch.setattr(train, "train_vae", stand_in)
    train.main(["dcgan", "--dataset", "synthetic", "--preset", "smoke", "--prior", "uniform", "--seed", "2"])
    study = otlatent.start("04_dcgan_training", preset="smoke", seed=2, dataset="synthetic", quiet=True)
    assert asked["config"] == trained.dcgan_config_for(study, "uniform", trained.images_for(study))
    assert asked["config"].name == "dcgan_synthetic_uniform_32px_smoke_seed2" + asked["config"].precision_suffix
    # a replicate: the config (and folder) notebook 06 trains as replicate 1
    train.main(["dcgan", "--dataset", "synthetic", "--preset", "smoke", "--seed", "2", "--replicate", "1"])
    assert asked["config"] == trained.dcgan_config_for(study, "gaussian", trained.images_for(study), 1)
    train.main(["vae", "--dataset", "synthetic", "--preset", "smoke", "--replicate", "1"])
    vae_study = otlatent.start("07_vae_lfw", preset="smoke", seed=0, dataset="synthetic", quiet=True)
    assert asked["config"] == trained.vae_config_for(vae_study, trained.vae_images_for(vae_study)[0], 1)
    with pytest.raises(SystemExit):
        train.main(["vae", "--dataset", "synthetic", "--preset", "smoke", "--replicate", "-1"])
