"""Mixed precision: the automatic choice and its overrides, autocast with float32 batch norm and losses, bf16 runs."""

import numpy as np
import pytest
import torch

from otlatent import data, precision
from otlatent.dcgan import GANConfig, Generator, train_dcgan
from otlatent.vae import VAEConfig, train_vae


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("OTLATENT_PRECISION", raising=False)


def test_automatic_choice_follows_the_cpu(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert precision.pick_precision("cpu") == "bf16"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert precision.pick_precision("cpu") == "fp32"
    assert precision.pick_precision("mps") == "fp32"
    if torch.cuda.is_available():  # pragma: no cover - GPU machines
        assert precision.pick_precision("cuda") in ("bf16", "fp16")


def test_cpu_flags_are_read_from_cpuinfo():
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        pass
    expected = bool({"avx512_bf16", "amx_bf16"} & set(flags.split(":", 1)[-1].split()))
    assert precision.cpu_has_bf16() is expected


def test_overrides_and_errors(monkeypatch):
    assert precision.pick_precision("cpu", "bf16") == "bf16"
    assert precision.pick_precision("cpu", "fp32") == "fp32"
    monkeypatch.setenv("OTLATENT_PRECISION", "bf16")
    assert precision.pick_precision("cpu") == "bf16"
    assert "OTLATENT_PRECISION" in precision.describe_precision("cpu", "bf16")
    assert precision.pick_precision("cpu", "fp32") == "fp32"  # an explicit argument beats the environment
    monkeypatch.setenv("OTLATENT_PRECISION", "auto")
    assert precision.pick_precision("cpu") in ("fp32", "bf16")
    with pytest.raises(ValueError, match="valid precisions are 'fp32', 'bf16', 'fp16'"):
        precision.pick_precision("cpu", "half")
    with pytest.raises(ValueError, match="needs a CUDA device"):
        precision.pick_precision("cpu", "fp16")
    with pytest.raises(ValueError, match="unknown precision"):
        GANConfig(dataset="synthetic", prior="gaussian", precision="fp8")


def test_run_names_carry_the_precision():
    base = dict(dataset="synthetic", prior="gaussian")
    assert GANConfig(**base).name.endswith("_seed0")  # fp32 names are those of the models trained before
    assert GANConfig(**base, precision="bf16").name.endswith("_seed0_bf16")
    assert VAEConfig(dataset="lfw", precision="bf16").name.endswith("_bf16")


def test_autocast_runs_convolutions_in_bf16_and_batch_norm_in_fp32():
    torch.manual_seed(0)
    G = Generator(nz=16, nc=3, width=8, resolution=32)
    seen = {}
    for name, m in G.named_modules():
        if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.BatchNorm2d)):
            m.register_forward_hook(lambda mod, inp, out, name=name: seen.__setitem__(name, out.dtype))
    with precision.autocast("cpu", "bf16"):
        out = G(torch.randn(4, 16))
    convs = [k for k, m in G.named_modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    norms = [k for k, m in G.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(seen[k] == torch.bfloat16 for k in convs)
    assert all(seen[k] == torch.float32 for k in norms)
    assert all(m.running_mean.dtype == torch.float32 for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert out.dtype == torch.bfloat16  # tanh of the last (bf16) convolution; the loop casts logits to float32
    # fp32: the batch norm is nn.BatchNorm2d's own computation, bit for bit
    x = torch.randn(8, 6, 4, 4)
    a, b = precision.FP32BatchNorm2d(6), torch.nn.BatchNorm2d(6)
    assert torch.equal(a(x), b(x)) and torch.equal(a.running_var, b.running_var)


@pytest.fixture(scope="module")
def images():
    return data.make_synthetic(128, 32, seed=0)


def _gan(**kw):
    base = dict(dataset="synthetic", prior="gaussian", width=8, batch_size=16, iterations=8, seed=1, preset="smoke")
    return GANConfig(**{**base, **kw})


def test_bf16_run_resumes_bit_identically_and_differs_from_fp32(images, tmp_path):
    cfg = _gan(precision="bf16")
    straight = train_dcgan(images, cfg, tmp_path / "a", progress=False, n_snapshots=0)
    train_dcgan(images, cfg, tmp_path / "b", stop_after=3, progress=False, n_snapshots=0)
    resumed = train_dcgan(images, cfg, tmp_path / "b", progress=False, n_snapshots=0)
    for (k, a), (_, b) in zip(straight.generator.state_dict().items(), resumed.generator.state_dict().items()):
        assert torch.equal(a, b), k
    np.testing.assert_array_equal(straight.history["loss_d"], resumed.history["loss_d"])
    assert all(v.dtype == torch.float32 for v in straight.generator.state_dict().values() if v.is_floating_point())
    fp32 = train_dcgan(images, _gan(), tmp_path / "c", progress=False, n_snapshots=0)
    diff = max((a - b).abs().max().item() for a, b in zip(straight.generator.parameters(), fp32.generator.parameters()))
    assert 0 < diff < 0.05  # another rounding, the same training: close, not equal
    assert np.isfinite(straight.history["loss_g"]).all()


def test_a_checkpoint_resumes_only_in_its_own_precision(images, tmp_path):
    train_dcgan(images, _gan(precision="bf16"), tmp_path / "run", stop_after=3, progress=False, n_snapshots=0)
    fp32 = train_dcgan(images, _gan(), tmp_path / "run2", progress=False, n_snapshots=0)
    # the fp32 config does not pick up the bf16 checkpoint of another folder, and in the same folder it is refused
    assert fp32.iteration == 8
    with pytest.warns(UserWarning, match="another configuration"):
        train_dcgan(images, _gan(), tmp_path / "run", progress=False, n_snapshots=0)


def test_bf16_vae_trains_with_float32_elbo(tmp_path):
    imgs = data.make_synthetic(64, 45, seed=0)
    cfg = VAEConfig(dataset="synthetic", width=8, batch_size=16, iterations=4, nz=8, preset="smoke", precision="bf16")
    run = train_vae(imgs, cfg, tmp_path, progress=False)
    assert run.iteration == 4 and np.isfinite(run.history["elbo"]).all()
    out = run.model(torch.zeros(2, 3, 45, 45))
    assert all(out[k].dtype == torch.float32 for k in ("elbo", "recon", "kl", "mean"))
