"""An interactive latent explorer (ipywidgets): two or four latents of a trained generator or decoder, a slider for the
interpolation weight, and the linear, SLERP and matched latents decoded side by side, with each latent's norm against
the prior's norm band and its components' histogram against the prior's density — live.

:class:`LatentExplorer` does the computing and the drawing (:meth:`~LatentExplorer.figure`, usable without a kernel:
the static stand-in of the rendered site); :meth:`~LatentExplorer.widget` wraps it in controls.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import explore
from .data import to_uint8
from .plots import method_color
from .priors import get_prior

__all__ = ["LatentExplorer"]


class LatentExplorer:
    """Explore interpolation between random latents of one or more generators.

    Parameters
    ----------
    models : dict
        Name -> a trained model with ``generate(z)`` or ``decode(z)`` (images in [-1, 1]; a
        :class:`~otlatent.dcgan.GANRun`, a VAE or WAE run), such as ``{"gaussian": run_g, "uniform": run_u}``.
    d : int
        Latent size.
    seed : int
        Seed of the endpoint latents (each model draws its own from its prior).
    priors : dict, optional
        Name -> prior (name or object) for models without a ``prior`` attribute (an auto-encoder's ``N(0, I)``).
    endpoints : dict, optional
        Name -> fixed endpoint latents, shape ``(k, d)`` with ``k >= 4`` (e.g. the encodings of four faces) instead
        of prior draws: the first two are the 2-point ends, the first four the 4-point corners.
    """

    def __init__(self, models: dict, d: int = 100, seed: int = 0, priors: dict | None = None,
                 endpoints: dict | None = None):  # fmt: skip
        if not models:
            raise ValueError("the explorer needs at least one model")
        self.models, self.d, self.seed = dict(models), d, seed
        priors = dict(priors or {})
        unknown = (set(priors) | set(endpoints or {})) - set(self.models)
        if unknown:
            raise ValueError(f"priors or endpoints for unknown models {sorted(unknown)}: models are {sorted(models)}")
        self.priors = {}
        for name, run in self.models.items():
            prior = priors.get(name, getattr(run, "prior", None))
            if prior is None:
                raise ValueError(f"model {name!r} has no prior attribute: pass priors={{{name!r}: ...}}")
            self.priors[name] = get_prior(prior) if isinstance(prior, str) else prior
        self.endpoints = {}
        for name, z in (endpoints or {}).items():
            z = torch.as_tensor(z, dtype=torch.float32).cpu()
            if z.ndim != 2 or z.shape[0] < 4 or z.shape[1] != d:
                raise ValueError(f"endpoints of {name!r} must have shape (k >= 4, {d}), got {tuple(z.shape)}")
            self.endpoints[name] = z
        self.state = {"model": next(iter(self.models)), "points": 2, "t": 0.5, "u": 0.5,
                      "methods": ("linear", "slerp", "matched"), "show_prior": True}  # fmt: skip
        self.last: dict = {}

    def corners(self, model: str, points: int) -> torch.Tensor:
        """The ``points`` (2 or 4) endpoint latents of ``model``: its fixed endpoints if it has some, else drawn
        from its prior with the explorer's seed.
        """
        if points not in (2, 4):
            raise ValueError(f"points must be 2 or 4, got {points}")
        if model in self.endpoints:
            return self.endpoints[model][:points]
        return explore.draw(self.priors[model], points, self.d, self.seed, 50 + points)

    def latents(self, model: str, points: int, t: float, u: float = 0.5, methods=("linear", "slerp", "matched")):
        """``{method: latent (d,)}`` at weight ``t`` between 2 latents, or at grid position ``(t, u)`` between 4
        (:func:`otlatent.explore.grid_4point`'s bilinear weights, SLERP along two edges then between them).
        """
        if not (0.0 <= t <= 1.0 and 0.0 <= u <= 1.0):
            raise ValueError(f"t and u must lie in [0, 1], got {t}, {u}")
        prior = self.priors[model]
        z = self.corners(model, points)
        out = explore.interpolate_at(z[0], z[1], t, prior) if points == 2 else explore.grid_at(z, t, u, prior)
        return {m: out[m] for m in methods}

    def update(self, **changes) -> dict:
        """Change the state (``model``, ``points``, ``t``, ``u``, ``methods``, ``show_prior``), recompute and return
        ``{"latents", "images", "norms"}`` (also kept as :attr:`last`).
        """
        unknown = set(changes) - set(self.state)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}: valid are {sorted(self.state)}")
        self.state.update(changes)
        s = self.state
        lat = self.latents(s["model"], s["points"], s["t"], s["u"], s["methods"])
        decode = explore.decoder_of(self.models[s["model"]])
        if s["show_prior"]:
            lat = {"prior": self.priors[s["model"]].sample(1, self.d, seed=self.seed + 99, device="cpu")[0], **lat}
        names = list(lat)
        images = to_uint8(decode(torch.stack([lat[m] for m in names]))) if names else None
        self.last = {
            "latents": lat,
            "images": {m: images[i] for i, m in enumerate(names)} if names else {},
            "norms": {m: float(torch.linalg.vector_norm(v)) for m, v in lat.items()},
        }
        return self.last

    def figure(self, **changes):
        """The explorer's view for the current (or changed) state, as a matplotlib figure: the decoded images, each
        latent's norm against the prior's norm band (mean ± 2 sd; with fixed endpoints, their own norms dashed), and
        the histogram of its components against the prior's density.
        """
        out = self.update(**changes)
        s, prior = self.state, self.priors[self.state["model"]]
        names = list(out["latents"])
        fig = plt.figure(figsize=(2.0 * max(len(names), 1) + 6.5, 2.6))
        grid = fig.add_gridspec(1, max(len(names), 1) + 2, width_ratios=[1] * max(len(names), 1) + [1.6, 1.9])
        for i, m in enumerate(names):
            ax = fig.add_subplot(grid[0, i])
            img = out["images"][m].permute(1, 2, 0).numpy()
            ax.imshow(img[..., 0] if img.shape[2] == 1 else img, cmap="gray" if img.shape[2] == 1 else None)
            ax.set_title(m, color=method_color(m), fontsize=9)
            ax.axis("off")
        norms = prior.sample(2000, self.d, seed=self.seed + 7, device="cpu").norm(dim=1).numpy()
        ax = fig.add_subplot(grid[0, len(names)])
        ax.axvspan(norms.mean() - 2 * norms.std(), norms.mean() + 2 * norms.std(), color="#e0e0e0", label="prior")
        if s["model"] in self.endpoints:  # fixed ends (e.g. encoded faces): their own norms, for comparison
            for k, v in enumerate(self.corners(s["model"], s["points"]).norm(dim=1).tolist()):
                ax.axvline(v, color="#7f7f7f", ls="--", lw=1, label="the ends' norms" if k == 0 else None)
        for k, m in enumerate(names):
            ax.plot(out["norms"][m], k, "o", color=method_color(m))
        ax.set_yticks(range(len(names)), names, fontsize=8)
        if s["model"] in self.endpoints:  # the legend in an empty row above the points, so it covers none of them
            ax.set_ylim(-0.6, len(names) + 0.6)
            ax.legend(fontsize=7, loc="upper center", ncol=2, handlelength=1.2, columnspacing=0.8)
        ax.set_xlabel("latent norm ‖y‖")
        ax.set_title("norm vs the prior's band", fontsize=9)
        ax = fig.add_subplot(grid[0, len(names) + 1])
        xs = np.linspace(*_support(prior), 200)
        ax.plot(xs, np.asarray(prior.pdf(xs)), color="#4d4d4d", lw=1.5, label="prior")  # fmt: skip
        for m in names:
            if m != "prior":
                ax.hist(
                    out["latents"][m].numpy(), bins=20, density=True, histtype="step", color=method_color(m), label=m
                )
        ax.set_title("components", fontsize=9)
        ax.legend(fontsize=7)
        where = f"t = {s['t']:.2f}" if s["points"] == 2 else f"(a, b) = ({s['t']:.2f}, {s['u']:.2f})"
        fig.suptitle(f"{s['model']}: {s['points']}-point interpolation at {where}", fontsize=10)
        fig.tight_layout()
        return fig

    def widget(self):
        """The explorer as ipywidgets controls (model, 2 or 4 points, t and u sliders, method toggles, the prior)
        above its live figure (an ``Image`` widget holding the rendered PNG; no output capture, which notebook
        runners intercept).
        """
        import io

        import ipywidgets as w

        s = self.state
        controls = {
            "model": w.Dropdown(options=list(self.models), value=s["model"], description="model"),
            "points": w.ToggleButtons(options=[2, 4], value=s["points"], description="latents"),
            "t": w.FloatSlider(value=s["t"], min=0.0, max=1.0, step=0.05, description="t / a"),
            "u": w.FloatSlider(value=s["u"], min=0.0, max=1.0, step=0.05, description="b (4 pts)"),
            "methods": w.SelectMultiple(
                options=["linear", "slerp", "matched"], value=s["methods"], description="methods"
            ),
            "show_prior": w.Checkbox(value=s["show_prior"], description="prior sample"),
        }
        image = w.Image(format="png")

        def redraw(_=None):
            fig = self.figure(**{k: (tuple(c.value) if k == "methods" else c.value) for k, c in controls.items()})
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            plt.close(fig)
            image.value = buf.getvalue()

        for c in controls.values():
            c.observe(redraw, names="value")
        rows = [
            w.HBox([controls["model"], controls["points"]]),
            w.HBox([controls["t"], controls["u"]]),
            w.HBox([controls["methods"], controls["show_prior"]]),
            image,
        ]
        box = w.VBox(rows)
        box.controls, box.image, box.redraw = controls, image, redraw
        redraw()
        return box


def _support(prior) -> tuple[float, float]:
    """A plotting range for one component of ``prior``: its support if bounded (5% wider), else ±4 sd."""
    lo, hi = prior.support
    if np.isfinite(lo) and np.isfinite(hi):
        pad = 0.05 * (hi - lo)
        return lo - pad, hi + pad
    sd = float(np.sqrt(prior.var))
    return -4 * sd, 4 * sd
