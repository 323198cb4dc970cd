"""The interactive latent explorer, headless: its callback decodes exactly the latents of the library's operations."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from otlatent import explore, matching  # noqa: E402
from otlatent import operations as ops  # noqa: E402
from otlatent.dcgan import Generator, generate  # noqa: E402
from otlatent.explorer import LatentExplorer  # noqa: E402
from otlatent.priors import get_prior  # noqa: E402


class _Run:
    """A tiny untrained generator with the interface of a GANRun."""

    def __init__(self, prior):
        torch.manual_seed(0)
        self.generator, self.prior = Generator(nz=8, nc=3, width=4, resolution=32).eval(), get_prior(prior)

    def generate(self, z):
        return generate(self.generator, z)


@pytest.fixture
def explorer():
    return LatentExplorer({"gaussian": _Run("gaussian"), "uniform": _Run("uniform")}, d=8, seed=3)


def test_latents_are_the_library_operations(explorer):
    z = explorer.corners("uniform", 2)
    out = explorer.latents("uniform", 2, 0.3)
    torch.testing.assert_close(out["linear"], ops.lerp(z[0], z[1], 0.3))
    torch.testing.assert_close(out["slerp"], ops.slerp(z[0], z[1], 0.3))
    torch.testing.assert_close(out["matched"], matching.matched_lerp(z[0], z[1], 0.3, get_prior("uniform")))
    q = explorer.corners("gaussian", 4)
    grid = explore.grid_4point(q, 3, "gaussian")  # a 3 x 3 grid: its centre is (a, b) = (0.5, 0.5)
    centre = explorer.latents("gaussian", 4, 0.5, 0.5)
    for m in ("linear", "slerp", "matched"):
        torch.testing.assert_close(centre[m], grid[m][4])
    with pytest.raises(ValueError, match="points"):
        explorer.corners("gaussian", 3)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        explorer.latents("gaussian", 2, 1.5)


def test_widget_callback_redraws_the_decoded_images(explorer):
    box = explorer.widget()
    controls = box.controls
    first = box.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    controls["model"].value = "uniform"
    controls["t"].value = 0.25
    controls["methods"].value = ("linear", "matched")
    last = explorer.last
    assert list(last["images"]) == ["prior", "linear", "matched"]
    expected = explorer.latents("uniform", 2, 0.25, methods=("linear", "matched"))
    run = explorer.models["uniform"]
    for m, z in expected.items():
        torch.testing.assert_close(last["latents"][m], z)
        decoded = ((run.generate(z[None]) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)[0]
        assert torch.equal(last["images"][m], decoded)
    # a matched latent keeps the prior's norm scale, the linear midpoint is shorter (uniform prior, d = 8)
    controls["t"].value = 0.5
    assert explorer.last["norms"]["linear"] < explorer.last["norms"]["matched"]
    assert box.image.value != first  # the live figure was redrawn
    controls["points"].value = 4
    centre = explorer.latents("uniform", 4, 0.5, 0.5, methods=("linear", "matched"))
    assert explorer.state["points"] == 4
    torch.testing.assert_close(explorer.last["latents"]["matched"], centre["matched"])


def test_static_figure_stands_in_without_a_kernel(explorer, tmp_path):
    fig = explorer.figure(model="gaussian", points=2, t=0.5)
    fig.savefig(tmp_path / "explorer.png")
    assert (tmp_path / "explorer.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="unknown settings"):
        explorer.update(colour="red")


class _Decoder:
    """A tiny auto-encoder-like model: ``decode`` and no ``prior`` attribute (a VAE's N(0, I) is given by name)."""

    def __init__(self):
        torch.manual_seed(1)
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 3 * 16 * 16), torch.nn.Tanh())

    @torch.no_grad()
    def decode(self, z):
        return self.net(z).view(-1, 3, 16, 16)


def test_a_decoder_with_fixed_endpoints():
    faces = torch.randn(5, 8, generator=torch.Generator().manual_seed(4))  # e.g. the encodings of five faces
    vae = _Decoder()
    priors = {"prior": "gaussian", "encoded": "gaussian"}
    ex = LatentExplorer({"prior": vae, "encoded": vae}, d=8, seed=2, priors=priors, endpoints={"encoded": faces})
    torch.testing.assert_close(ex.corners("encoded", 2), faces[:2])
    torch.testing.assert_close(ex.corners("encoded", 4), faces[:4])
    out = ex.update(model="encoded", points=2, t=0.5)
    torch.testing.assert_close(out["latents"]["matched"], (faces[0] + faces[1]) / 2**0.5)  # Gaussian: y / sqrt(1/2)
    expected = ((vae.decode(out["latents"]["linear"][None]) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)[0]
    assert torch.equal(out["images"]["linear"], expected)
    assert not torch.equal(ex.corners("prior", 2), faces[:2])  # the other model draws its ends from the prior
    ex.figure(model="encoded", points=4, t=0.3, u=0.6)
    with pytest.raises(ValueError, match="no prior attribute"):
        LatentExplorer({"vae": vae}, d=8)
    with pytest.raises(ValueError, match="shape"):
        LatentExplorer({"vae": vae}, d=8, priors={"vae": "gaussian"}, endpoints={"vae": faces[:3]})
    with pytest.raises(ValueError, match="unknown models"):
        LatentExplorer({"vae": vae}, d=8, priors={"vae": "gaussian", "other": "gaussian"})


def test_the_norm_panel_legend_covers_no_point():
    faces = torch.randn(5, 8, generator=torch.Generator().manual_seed(4))
    vae = _Decoder()
    for scale, points, t in itertools.product((0.3, 3.0), (2, 4), (0.0, 0.5)):  # ends inside and outside the band
        ends = {"encoded": scale * faces}
        ex = LatentExplorer({"encoded": vae}, d=8, seed=2, priors={"encoded": "gaussian"}, endpoints=ends)
        fig = ex.figure(model="encoded", points=points, t=t, u=0.9)
        fig.canvas.draw()
        ax = next(a for a in fig.axes if a.get_legend() is not None and a.get_title().startswith("norm"))
        box = ax.get_legend().get_window_extent().padded(4)  # a marker's radius around its centre
        dots = [ax.transData.transform(line.get_xydata()[0]) for line in ax.lines if line.get_marker() == "o"]
        assert len(dots) == len(ex.last["latents"])
        assert not any(box.contains(x, y) for x, y in dots), (scale, points, t)
        plt.close(fig)
