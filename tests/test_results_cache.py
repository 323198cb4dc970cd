"""The result cache: keys that change with every input, exact round trips, and the three users (scored sets, encoded
bootstrap tables, MAP latents) giving the same results cached as computed."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from otlatent import encoded, results_cache
from otlatent.map_reconstruction import map_latents


def test_fingerprints_follow_the_content():
    a = torch.arange(6.0).view(2, 3)
    assert results_cache.fingerprint(a) == results_cache.fingerprint(a.clone())
    assert results_cache.fingerprint(a) != results_cache.fingerprint(a.view(3, 2)), "shape counts"
    assert results_cache.fingerprint(a) != results_cache.fingerprint(a.double()), "dtype counts"
    b = a.clone()
    b[1, 2] = float(np.nextafter(np.float32(5), np.float32(6)))  # one float32 ulp
    assert results_cache.fingerprint(a) != results_cache.fingerprint(b)
    assert results_cache.fingerprint(a.numpy()) == results_cache.fingerprint(a.numpy().copy())
    torch.manual_seed(0)
    m = nn.Linear(3, 2)
    same = nn.Linear(3, 2)
    same.load_state_dict(m.state_dict())
    assert results_cache.fingerprint(m.forward) == results_cache.fingerprint(same.forward)
    with torch.no_grad():
        same.bias[0] += 1e-6
    assert results_cache.fingerprint(m) != results_cache.fingerprint(same), "retrained weights give another key"
    bn = nn.BatchNorm2d(3)  # 0-d buffers (num_batches_tracked) and a forward pass that changes the running stats
    before = results_cache.fingerprint(bn)
    bn(torch.randn(4, 3, 2, 2))
    assert results_cache.fingerprint(bn) != before
    with pytest.raises(TypeError, match="cannot fingerprint"):
        results_cache.fingerprint(lambda z: z)
    with pytest.raises(TypeError):
        results_cache.key(["not", "a", "dict"])


def test_plain_identities_keep_the_score_caches_old_key(tmp_path):
    """Notebook 10's cached tables were written under sha1(sorted JSON)[:12]: the same key finds them."""
    ident = dict(model="m", scorer="s", prior="gaussian", d=8, n=5, draws=2, seed=0, replicate=1, sets=["a", "b"])
    old = hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    assert results_cache.key(ident) == old
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"weights")
    assert results_cache.fingerprint(weights) == hashlib.sha256(b"weights").hexdigest()[:16]


def test_tables_round_trip_exactly_and_are_computed_once(tmp_path):
    calls = []
    table = pd.DataFrame(dict(set=["x", "y", "z"], n=[1, 2, 3], value=[np.pi / 3, float("inf"), float("nan")],
                              bounded=[True, False, True]))  # fmt: skip

    def compute():
        calls.append(1)
        return table, table.iloc[:1]

    first = results_cache.cached_tables(tmp_path, "run_cpu_seed0", dict(a=1), compute, parts=("one", "two"))
    again = results_cache.cached_tables(tmp_path, "run_cpu_seed0", dict(a=1), compute, parts=("one", "two"))
    assert len(calls) == 1, "the second call reads the files back"
    pd.testing.assert_frame_equal(again[0], table)  # every bit of pi/3, inf, NaN, ints and bools
    pd.testing.assert_frame_equal(again[1], first[1])
    results_cache.cached_tables(tmp_path, "run_cpu_seed0", dict(a=2), compute, parts=("one", "two"))
    assert len(calls) == 2, "another identity is computed again"
    assert results_cache.cached_tables(None, "x", {}, lambda: table) is table
    with pytest.raises(ValueError, match="file-name prefix"):
        results_cache.cached_tables(tmp_path, "a/b", {}, lambda: table)
    with pytest.raises(TypeError, match="2 DataFrames"):
        results_cache.cached_tables(tmp_path, "bad", {}, lambda: table, parts=("one", "two"))


def test_map_latents_cached_equal_computed_and_keyed_by_the_weights(tmp_path):
    torch.manual_seed(0)
    dec = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Unflatten(1, (1, 2, 2)))
    y, z0 = torch.rand(5, 1, 2, 2), torch.zeros(5, 2)
    z, e = map_latents(dec, y, z0, 0.3, steps=5)
    z1, e1 = map_latents(dec, y, z0, 0.3, steps=5, cache=tmp_path, name="vae_cpu_seed0")
    (path,) = tmp_path.glob("vae_cpu_seed0_*.pt")
    z2, e2 = map_latents(dec, y, z0, 0.3, steps=5, cache=tmp_path, name="vae_cpu_seed0")
    assert torch.equal(z, z1) and torch.equal(z1, z2) and np.array_equal(e, e2) and e2.dtype == np.float64
    with torch.no_grad():
        dec[0].bias += 0.5
    z3, _ = map_latents(dec, y, z0, 0.3, steps=5, cache=tmp_path, name="vae_cpu_seed0")
    assert len(list(tmp_path.glob("*.pt"))) == 2 and not torch.equal(z3, z2), "new weights: optimised again"
    map_latents(dec, y, z0, 0.3, steps=6, cache=tmp_path, name="vae_cpu_seed0")
    assert len(list(tmp_path.glob("*.pt"))) == 3, "another number of steps: optimised again"
    with pytest.raises(ValueError, match="module"):
        map_latents(lambda v: dec(v), y, z0, 0.3, steps=2, cache=tmp_path, name="x")
    with pytest.raises(ValueError, match="name="):
        map_latents(dec, y, z0, 0.3, steps=2, cache=tmp_path)


def _family_inputs():
    torch.manual_seed(0)
    dec = nn.Sequential(nn.Linear(4, 3 * 8 * 8), nn.Tanh(), nn.Unflatten(1, (3, 8, 8)))
    codes = torch.randn(24, 4)
    person = np.repeat(np.arange(12), 2)

    def features(images_u8):
        x = torch.as_tensor(images_u8).float() / 255
        return {"pool": torch.cat([x.mean((2, 3)), x.std((2, 3))], 1).double()}

    reference = features(torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8))
    models = [dict(decode=dec, codes=codes, centre=codes.mean(0), name="vae_cpu_seed0")]
    return models, person, features, reference


def test_encoded_family_cached_equals_computed(tmp_path):
    models, person, features, reference = _family_inputs()
    sets = ["2-point linear", "2-point matched"]
    kw = dict(scores=["FID", "sharpness"], tested_worse=sets, tested_equivalent=[], n_boot=5, seed=0, ks=(2,))
    plain = encoded.encoded_family(models, person, features, reference, **kw)
    cached = encoded.encoded_family(models, person, features, reference, cache=tmp_path, scorer_key="toy", **kw)
    n_files = len(list(tmp_path.glob("vae_cpu_seed0_encoded2_*.csv")))
    calls = []

    def counted(images_u8):
        calls.append(1)
        return features(images_u8)

    again = encoded.encoded_family(models, person, counted, reference, cache=tmp_path, scorer_key="toy", **kw)
    assert n_files == 2 and not calls, "read back: no features computed, no bootstrap"
    for res in (cached, again):
        pd.testing.assert_frame_equal(res["changes"].reset_index(drop=True), plain["changes"].reset_index(drop=True))
        pd.testing.assert_frame_equal(res["ev"].reset_index(drop=True), plain["ev"].reset_index(drop=True))
    encoded.encoded_family(models, person, features, reference, cache=tmp_path, scorer_key="other", **kw)
    assert len(list(tmp_path.glob("*.csv"))) == 4, "another scorer: scored again"
    with pytest.raises(ValueError, match="scorer_key"):
        encoded.encoded_family(models, person, features, reference, cache=tmp_path, **kw)
