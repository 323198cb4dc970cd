"""DCGAN (Radford et al., 2016) generator and discriminator for 32 and 64 px images.

The generator maps a latent ``z`` of size ``nz`` (reshaped to ``nz x 1 x 1``)
through transposed 4x4 convolutions that double the resolution, each followed
by batch norm and ReLU, to a ``tanh`` image in [-1, 1].  The discriminator
mirrors it with strided 4x4 convolutions and LeakyReLU(0.2), batch norm on every
layer but the first, and returns one logit per image (the sigmoid lives in the
loss, ``BCEWithLogitsLoss``, for numerical stability).  All convolutions are
bias-free; weights are drawn from N(0, 0.02), batch-norm scales from N(1, 0.02).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["Generator", "Discriminator", "dcgan_init", "num_parameters"]


def _levels(resolution: int) -> int:
    if resolution not in (32, 64):
        raise ValueError(f"DCGAN resolution must be 32 or 64, got {resolution}")
    return {32: 3, 64: 4}[resolution]


class Generator(nn.Module):
    """DCGAN generator: ``(N, nz)`` latents -> ``(N, nc, resolution, resolution)`` images in [-1, 1].

    Widths: ``width * 2**(levels-1)`` channels at 4x4, halving at each doubling
    of the resolution (``width`` = 64 is the paper's ``ngf``).
    """

    def __init__(self, nz: int = 100, nc: int = 3, width: int = 64, resolution: int = 64):
        super().__init__()
        levels = _levels(resolution)
        self.nz, self.nc, self.width, self.resolution = nz, nc, width, resolution
        ch = width * 2 ** (levels - 1)
        layers: list[nn.Module] = [  # nz x 1 x 1 -> ch x 4 x 4
            nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(levels - 1):  # doubles the side, halves the channels
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, nc, 4, 2, 1, bias=False), nn.Tanh()]  # -> nc x res x res
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.nz:
            raise ValueError(f"expected latents of shape (N, {self.nz}), got {tuple(z.shape)}")
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    """DCGAN discriminator: ``(N, nc, resolution, resolution)`` images -> ``(N,)`` logits."""

    def __init__(self, nc: int = 3, width: int = 64, resolution: int = 64):
        super().__init__()
        levels = _levels(resolution)
        self.nc, self.width, self.resolution = nc, width, resolution
        ch = width
        layers: list[nn.Module] = [nn.Conv2d(nc, ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(levels - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False)]  # 4x4 -> 1x1
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation: conv weights ~ N(0, 0.02); batch-norm scale ~ N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def num_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
