"""Corruptions: what each changes (and leaves alone), its severity, seeding and errors."""

import numpy as np
import pytest
import torch

from otlatent.corruptions import CORRUPTIONS, SEVERITIES, block_occlusion, channel_permutation, corrupt, gaussian_noise


@pytest.fixture(scope="module")
def x():
    return torch.rand(6, 3, 20, 20, generator=torch.Generator().manual_seed(0)) * 2 - 1


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_shapes_range_and_seeding(name, x):
    for severity in SEVERITIES[name]:
        a = corrupt(name, x, severity, seed=1)
        assert a.images.shape == x.shape and a.mask.shape == (6, 1, 20, 20) and a.mask.dtype == torch.bool
        assert a.images.min() >= -1 and a.images.max() <= 1
        assert torch.equal(a.images, corrupt(name, x, severity, seed=1).images), "same seed, same corruption"
        assert not torch.equal(a.images, corrupt(name, x, severity, seed=2).images)
        if name != "noise":
            keep = a.mask.expand_as(x)
            assert torch.equal(a.images[keep], x[keep]), "intact pixels are untouched"
            assert (a.images != x).any(1, keepdim=True)[~a.mask].float().mean() > 0.95, "hit pixels change"


@pytest.mark.parametrize("name", ["channels", "salt_pepper"])
def test_pixel_fraction_is_the_severity(name, x):
    for severity in SEVERITIES[name]:
        hit = ~corrupt(name, x, severity, seed=3).mask
        np.testing.assert_array_equal(hit.flatten(1).sum(1).numpy(), round(severity * 400))


def test_channel_permutation_permutes_each_pixel(x):
    c = channel_permutation(x, 0.5, seed=4)
    before, after = x.permute(0, 2, 3, 1).reshape(-1, 3), c.images.permute(0, 2, 3, 1).reshape(-1, 3)
    torch.testing.assert_close(before.sort(1).values, after.sort(1).values)  # same values per pixel
    hit = (~c.mask).flatten()
    assert not (before[hit] == after[hit]).all(1).any(), "never the identity"
    grey = channel_permutation(x[:, :1], 0.5, seed=4)
    torch.testing.assert_close(grey.images[~grey.mask.expand_as(grey.images)], -x[:, :1][~grey.mask])


def test_block_is_one_square(x):
    c = block_occlusion(x, 0.4, seed=5)
    for m in ~c.mask[:, 0]:
        rows, cols = m.any(1).nonzero().flatten(), m.any(0).nonzero().flatten()
        assert len(rows) == len(cols) == 8 and m.sum() == 64
        assert rows.max() - rows.min() == 7 and cols.max() - cols.min() == 7
    assert (c.images[(~c.mask).expand_as(x)] == -1).all()


def test_noise_has_the_stated_scale():
    grey = torch.zeros(200, 3, 16, 16)
    c = gaussian_noise(grey, 0.1, seed=6)
    assert c.noise_sigma == pytest.approx(0.2) and c.mask.all()
    assert float(c.images.std()) == pytest.approx(0.2, rel=0.02)  # 153,600 draws; clipping at 5 sd is negligible
    assert abs(float(c.images.mean())) < 0.002


def test_errors(x):
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt("blur", x, 0.1)
    with pytest.raises(ValueError, match="severity"):
        corrupt("channels", x, 1.5)
    with pytest.raises(ValueError, match="shape"):
        corrupt("block", x[0], 0.3)


def test_seed_patches_follow_the_seed_report():
    """The seed report's protocol: a 10x10 patch at 45x45 placed anywhere (clipped at the border), channel 2 zeroed
    in copy 0 and channels 0-1 in copy 1, the two copies placed independently."""
    from otlatent.corruptions import seed_patches

    clean = torch.rand(2000, 3, 45, 45) * 1.8 - 0.9  # no pixel is -1 already
    a, b = (
        corrupt("seed_patches", clean, 10 / 45, seed=3, copy=0),
        corrupt("seed_patches", clean, 10 / 45, seed=4, copy=1),
    )
    for c, changed in ((a, [2]), (b, [0, 1])):
        hit = ~c.mask[:, 0]
        rows, cols = hit.any(2), hit.any(1)
        top, left = rows.float().argmax(1), cols.float().argmax(1)
        # one axis-aligned patch, of side 10 unless clipped at the bottom or right border
        assert torch.equal(hit.sum((1, 2)), (45 - top).clamp(max=10) * (45 - left).clamp(max=10))
        assert torch.equal(rows.sum(1), (45 - top).clamp(max=10)) and torch.equal(
            cols.sum(1), (45 - left).clamp(max=10)
        )
        assert (top > 35).any() and (left > 35).any(), "corners drawn over the whole image: some patches are clipped"
        assert top.max() == 44 and top.min() == 0
        kept = [ch for ch in range(3) if ch not in changed]
        assert torch.equal(c.images[:, kept], clean[:, kept]), "the other channels are untouched"
        inside = hit.unsqueeze(1).expand(-1, len(changed), -1, -1)
        assert (c.images[:, changed][inside] == -1).all(), "zero on the [0, 1] scale"
        assert torch.equal(c.images[:, changed][~inside], clean[:, changed][~inside])
    # independent placement: the two copies' corners are uncorrelated
    corner = [(~c.mask[:, 0]).any(2).float().argmax(1).float() for c in (a, b)]
    assert abs(np.corrcoef(corner[0], corner[1])[0, 1]) < 0.1
    grey = seed_patches(clean[:4, :1], 10 / 45, seed=0, copy=1)
    assert (grey.images[~grey.mask] == -1).all()
    with pytest.raises(ValueError, match="copy"):
        corrupt("seed_patches", clean[:1], 10 / 45, copy=2)
