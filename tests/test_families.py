"""The model-family comparison (notebook 10): caching, fit and sensitivity, and the rank tests against independent
references (an explicit enumeration of every pairing; scipy's t interval)."""

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from otlatent import explore, families


class _Scorer:
    key = "toy"

    def __init__(self):
        self.calls = 0

    def __call__(self, u8):
        self.calls += 1
        return {"FID": float(np.asarray(u8, dtype=float).std()), "mean": float(np.asarray(u8, dtype=float).mean())}


def _decode(z):
    return torch.tanh(z[:, :3, None, None])


def test_table2_latents_subset_keeps_the_same_latents():
    full = explore.table2_latents("uniform", 10, 4, 2, seed=3, replicate=1)
    part = explore.table2_latents("uniform", 10, 4, 2, seed=3, replicate=1, sets=("4-point linear",))
    assert set(part) == {"4-point linear", ("random samples", 0), ("random samples", 1)}
    for k, z in part.items():
        assert torch.equal(z, full[k])
    with pytest.raises(ValueError, match="unknown midpoint sets"):
        explore.table2_latents("uniform", 10, 4, 2, seed=3, sets=("3-point linear",))


def test_model_values_are_cached_and_reread(tmp_path):
    scorer = _Scorer()
    args = ("toy-model", _decode, "gaussian", 4, scorer, 30, 3, 0)
    first = families.model_values(*args, cache=tmp_path)
    calls = scorer.calls
    assert calls == 3 + len(explore.MIDPOINT_SETS)
    again = families.model_values(*args, cache=tmp_path)
    assert scorer.calls == calls  # read back, nothing decoded or scored
    pd.testing.assert_frame_equal(first, again, check_dtype=False)
    families.model_values(*args[:-1], 1, cache=tmp_path)  # another replicate: other draws, scored again
    assert scorer.calls == 2 * calls and len(list(tmp_path.glob("toy-model_*.csv"))) == 2
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"the first training")
    families.model_values(*args, cache=tmp_path, weights=weights)  # the checksum of the weights joins the key
    families.model_values(*args, cache=tmp_path, weights=weights)
    assert scorer.calls == 3 * calls
    weights.write_bytes(b"retrained, same name")
    families.model_values(*args, cache=tmp_path, weights=weights)  # a retrained model is scored again
    assert scorer.calls == 4 * calls and len(list(tmp_path.glob("toy-model_*.csv"))) == 4


def test_fit_and_sensitivity_by_hand():
    values = pd.DataFrame(
        [
            dict(family="A", replicate=0, set="random samples", draw=k, score="FID", value=v)
            for k, v in enumerate([9, 11])
        ]
        + [
            dict(family="A", replicate=0, set="4-point linear", draw=0, score="FID", value=15.0),
            dict(family="A", replicate=0, set="4-point linear", draw=0, score="KID", value=99.0),
        ]  # fmt: skip
    )
    out = families.fit_and_sensitivity(values).iloc[0]
    assert out.fit == 10 and out["4-point linear %"] == pytest.approx(50) and out["4-point linear diff"] == 5


def test_family_summary_is_the_t_interval_on_the_right_scale():
    x = np.array([1.0, 2.5, 4.0])
    pct = np.array([-50.0, 100.0, 300.0])
    frame = pd.DataFrame({"family": "A", "replicate": [0, 1, 2], "fit": x, "s diff": x, "s %": pct})
    row = families.family_summary(frame).loc["A"]
    low, high = stats.t.interval(0.95, 2, loc=x.mean(), scale=stats.sem(x))  # absolute changes: the plain interval
    assert (row[("s diff", "low")], row[("s diff", "high")]) == pytest.approx((low, high))
    lx = np.log(x)  # the fit: geometric mean and a log-scale interval, never below zero
    low, high = np.exp(stats.t.interval(0.95, 2, loc=lx.mean(), scale=stats.sem(lx)))
    assert row[("fit", "mean")] == pytest.approx(np.exp(lx.mean())) and low > 0
    assert (row[("fit", "low")], row[("fit", "high")]) == pytest.approx((low, high))
    lr = np.log1p(pct / 100)  # relative changes: the geometric mean ratio, never below -100%
    assert row[("s %", "mean")] == pytest.approx(100 * np.expm1(lr.mean())) and row[("s %", "low")] > -100


def test_rank_association_is_exact_over_all_pairings():
    x = np.array([3.0, 1.0, 4.0, 1.5, 5.0, 9.0])
    y = np.array([2.0, 7.0, 1.0, 8.0, 2.5, 0.5])
    out = families.rank_association(x, y, alternative="less")
    rho = stats.spearmanr(x, y).statistic
    null = np.array([stats.spearmanr(np.array(p), y).statistic for p in itertools.permutations(x)])
    assert out["exact"] and out["rho"] == pytest.approx(rho)
    assert out["p"] == pytest.approx(np.mean(null <= rho + 1e-12))


def test_within_unit_association_sees_order_inside_units_only():
    rows = []
    for unit, shift in enumerate([0.0, 100.0, -50.0]):  # units far apart: between-unit differences are no evidence
        for step, (fit, sens) in enumerate(zip([40, 30, 20, 10], [1, 2, 3, 4])):
            rows.append(dict(unit=unit, fit=fit + shift, sens=sens + shift, step=step))
    table = pd.DataFrame(rows)
    out = families.within_unit_association(table, "unit", "fit", "sens", n_resamples=2_000)
    assert out["rho"] == pytest.approx(-1.0) and out["units"] == 3
    assert out["p"] < 0.01  # (1/24)^3 of the pairings are as extreme, plus the Monte Carlo floor 1/2001
    flat = table.assign(sens=[1, 2, 3, 4] + [4, 3, 2, 1] + [2, 3, 1, 4])  # units disagree: mean rho -0.13
    assert families.within_unit_association(flat, "unit", "fit", "sens", n_resamples=500)["p"] > 0.05
    with pytest.raises(ValueError, match="alternative"):
        families.within_unit_association(table, "unit", "fit", "sens", alternative="up", n_resamples=10)
