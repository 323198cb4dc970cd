"""Notebook 07's paired design: the bootstrap over people (metrics.paired_bootstrap_changes), its pooling
(metrics.pool_evidence), the held-out roles and the midpoints of different people (trained.vae_roles,
trained.person_tuples), and the name of a classifier run that predates the ``subset`` field."""

import dataclasses
import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from otlatent import data, metrics, trained
from otlatent.classifier import ClassifierConfig


def _mean_score(sets):
    """score_subset for sets of per-item values: the mean over the items."""
    return lambda name, idx: {"S": float(sets[name][idx].mean())}


def _ratio_se(o, b, clusters):
    """Delta-method SE (%) of 100 (sum O / sum B - 1) with cluster totals (the linearised ratio estimator)."""
    ids = np.unique(clusters)
    o_c = np.array([o[clusters == c].sum() for c in ids])
    b_c = np.array([b[clusters == c].sum() for c in ids])
    r = o_c.sum() / b_c.sum()
    n = len(ids)
    return 100 * np.sqrt(n / (n - 1) * ((o_c - r * b_c) ** 2).sum()) / b_c.sum()


def test_paired_bootstrap_se_matches_the_delta_method_and_is_paired():
    rng = np.random.default_rng(0)
    n = 400
    clusters = np.arange(n) // 2  # 200 people with two images each
    b = 10 + rng.normal(size=n) + np.repeat(rng.normal(size=n // 2), 2)  # a person effect
    o = 1.05 * b + 0.1 * rng.normal(size=n)  # the same items, 5% up, tightly paired
    unpaired = 1.05 * (10 + rng.normal(size=n) + np.repeat(rng.normal(size=n // 2), 2))
    sets = {"base": b, "paired": o, "unpaired": unpaired}
    changes, sigma = metrics.paired_bootstrap_changes(_mean_score(sets), sets, clusters, "base", n_boot=2000, seed=1)
    ch = changes.set_index("set")
    assert ch.loc["paired", "change_pct"] == pytest.approx(100 * (o.mean() / b.mean() - 1))
    assert ch.loc["paired", "se_pct"] == pytest.approx(_ratio_se(o, b, clusters), rel=0.1)
    assert ch.loc["unpaired", "se_pct"] > 5 * ch.loc["paired", "se_pct"], "the pairing must cancel the shared noise"
    assert ch.df.eq(199).all()
    # the set noise: the bootstrap SD (%) of the baseline's mean, sd / (mean sqrt(clusters)) for cluster totals
    totals = b.reshape(-1, 2).sum(1)
    expected = 100 * totals.std(ddof=1) / np.sqrt(len(totals)) / totals.mean()
    assert sigma.set_index("score").loc["S", "sigma_pct"] == pytest.approx(expected, rel=0.1)


def test_paired_bootstrap_resamples_people_not_images():
    rng = np.random.default_rng(2)
    people, m = 100, 5
    clusters = np.repeat(np.arange(people), m)
    b = 10 + np.repeat(rng.normal(size=people), m)  # the images of a person are identical: m copies of one value
    sets = {"base": b, "op": b * 1.02 + np.repeat(rng.normal(size=people), m)}
    by_person, _ = metrics.paired_bootstrap_changes(_mean_score(sets), sets, clusters, "base", n_boot=1000)
    by_image, _ = metrics.paired_bootstrap_changes(_mean_score(sets), sets, np.arange(len(b)), "base", n_boot=1000)
    ratio = by_person.se_pct.iloc[0] / by_image.se_pct.iloc[0]
    assert ratio == pytest.approx(np.sqrt(m), rel=0.15), "treating a person's images as independent hides sqrt(m)"


def test_a_baseline_near_zero_is_compared_by_differences():
    """A score whose baseline is not bounded away from zero (a small set's KID) gets absolute differences, never a
    ratio: the change, its SE and the noise are in the score's units, and the pooled tests still work."""
    rng = np.random.default_rng(3)
    changes, sigma = [], []
    for r in range(3):
        b = rng.normal(size=200) * 0.1  # mean about zero
        sets = {"base": b, "op": b + 0.05 + 0.01 * rng.normal(size=200), "same": rng.normal(size=200) * 0.1}
        c, s = metrics.paired_bootstrap_changes(_mean_score(sets), sets, np.arange(200), "base", n_boot=300, seed=r)
        assert not s.bounded.any()
        op = c.set_index("set").loc["op"]
        assert op.change_abs == pytest.approx(sets["op"].mean() - b.mean())
        assert op.se_abs == pytest.approx(0.01 / np.sqrt(200), rel=0.2), "the paired SE of a difference of means"
        assert s.sigma_abs.iloc[0] == pytest.approx(0.1 / np.sqrt(200), rel=0.2)
        changes.append(c.assign(replicate=r))
        sigma.append(s.assign(replicate=r))
    ch, pooled = metrics.paired_units(pd.concat(changes), pd.concat(sigma))
    assert (ch.unit == "abs").all() and (pooled.unit == "abs").all()
    ev = metrics.pool_evidence(ch, pooled, {"S": "higher"}, ["op"], [], control="same")
    ev = ev.set_index("set")
    assert ev.loc["op", "verdict"] == "worse" and ev.loc["op", "unit"] == "abs"
    assert ev.loc["same", "verdict"].startswith("not shown worse")
    table = metrics.verdict_table(
        ev.reset_index(),
        pd.DataFrame([dict(set="base", score="S", value=0.0)]),
        ["op"],
        ["S"],
        baseline="base",
        control="same",
    )
    assert "(diff.)" in table.loc["op", "S"] and "%" not in table.loc["op", "S"]
    # bounded in one replicate only: the cell is pooled in differences for every replicate
    mixed = [sigma[0].assign(bounded=True), sigma[1], sigma[2]]
    ch, pooled = metrics.paired_units(pd.concat(changes), pd.concat(mixed))
    assert (ch.unit == "abs").all()
    np.testing.assert_allclose(ch.change_pct, pd.concat(changes).change_abs)


def test_paired_bootstrap_rejects_bad_input():
    sets = {"base": np.ones(4), "op": np.ones(4)}
    with pytest.raises(ValueError, match="baseline"):
        metrics.paired_bootstrap_changes(_mean_score(sets), sets, np.arange(4), "missing")
    with pytest.raises(ValueError, match="2 clusters"):
        metrics.paired_bootstrap_changes(_mean_score(sets), sets, np.zeros(4), "base")


def _replicated_paired(rng, shift, replicates=3, people=150):
    """Per-replicate paired changes and noise of a design with a per-person effect and a shift (%) of "op"."""
    changes, sigma = [], []
    for r in range(replicates):
        clusters = np.repeat(np.arange(people), 2)
        b = 10 + rng.normal(size=2 * people) + np.repeat(rng.normal(size=people), 2)
        sets = {
            "base": b,
            "control": 10 + rng.normal(size=2 * people) + np.repeat(rng.normal(size=people), 2),
            "op": b * (1 + shift / 100) + 0.3 * rng.normal(size=2 * people),
        }
        c, s = metrics.paired_bootstrap_changes(_mean_score(sets), sets, clusters, "base", n_boot=300, seed=r)
        changes.append(c.assign(replicate=r))
        sigma.append(s.assign(replicate=r))
    return metrics.paired_units(pd.concat(changes), pd.concat(sigma))


def test_pool_evidence_of_paired_sets_finds_a_shift_and_an_equivalence():
    rng = np.random.default_rng(4)
    worse = {"S": "lower"}
    changes, sigma = _replicated_paired(rng, shift=-8.0)
    assert (changes.unit == "%").all() and (sigma.unit == "%").all(), "baselines near 10: relative changes"
    ev = metrics.pool_evidence(changes, sigma, worse, ["op"], [], control="control").set_index("set")
    assert ev.loc["op", "verdict"] == "worse"
    assert ev.loc["control", "verdict"] in ("not shown worse; equivalent", "not shown worse; not shown equivalent")
    changes, sigma = _replicated_paired(rng, shift=0.0)
    ev = metrics.pool_evidence(changes, sigma, worse, [], ["op"], control="control").set_index("set")
    assert ev.loc["op", "verdict"] == "equivalent", "a tightly paired exact null is inside 3 sigma"


def test_evidence_is_pool_evidence_of_its_changes():
    """evidence() = relative_changes (first draw of the control) + pool_evidence: one pooling code path."""
    rng = np.random.default_rng(5)
    rows = []
    for r in range(3):
        for k in range(5):
            rows.append(dict(replicate=r, set="random samples", draw=k, score="S", value=10 + rng.normal()))
        rows.append(dict(replicate=r, set="op", draw=0, score="S", value=12 + rng.normal()))
    values = pd.DataFrame(rows)
    ev = metrics.evidence(values, {"S": "higher"}, ["op"], [])
    ch = metrics.relative_changes(values)
    ch = ch[(ch.set == "op") | ((ch.set == metrics.RANDOM_VS_RANDOM) & (ch.draw == 0))]
    noise = metrics.set_noise(values).reset_index()[["score", "sigma_pct"]]
    again = metrics.pool_evidence(ch, noise, {"S": "higher"}, ["op"], [])
    pd.testing.assert_frame_equal(ev.reset_index(drop=True), again.reset_index(drop=True))


def test_person_tuples_pair_different_people_once_each():
    person = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4, 5, 5, 6, 7, 7, 8])
    for k in (2, 4):
        ends, group = trained.person_tuples(person, k, seed=1)
        assert ends.shape[0] == k and ends.shape[1] == len(group)
        assert len(np.unique(ends)) == ends.size, "every image at most once"
        for j in range(ends.shape[1]):
            assert len(set(person[ends[:, j]])) == k, "k different people per midpoint"
        for g in np.unique(group):  # a group is a fixed set of k people
            assert len({frozenset(person[ends[:, j]]) for j in np.flatnonzero(group == g)}) == 1
    with pytest.raises(ValueError, match="at least 2"):
        trained.person_tuples(np.array([0, 0, 1, 2, 3]), 4)


def test_vae_roles_keep_people_apart_and_cap_them():
    people = np.repeat(np.arange(60), np.r_[np.full(50, 2), np.full(9, 3), [40]])  # one person with 40 images
    images = data.ImageSet("lfw", np.zeros((len(people), 3, 4, 4), np.uint8), people, "test", people.astype(str))
    roles = trained.vae_roles(images, max_per_person=6, seed=0)
    assert set(roles) <= {"reference", "exploration", "confirmation", "unused"}
    frame = pd.DataFrame({"person": people, "role": roles})
    used = frame[frame.role != "unused"]
    assert used.groupby("person").role.nunique().max() == 1, "a person has one role"
    assert used.groupby("person").size().max() <= 6
    # the later half of the images (by person) explores, the earlier one confirms; both give reference people
    cut = people[len(people) // 2]
    assert set(frame[frame.person < cut].role) <= {"confirmation", "reference", "unused"}
    assert set(frame[frame.person >= cut].role) <= {"exploration", "reference", "unused"}
    for half in (frame.person < cut, frame.person >= cut):
        assert (frame[half].role == "reference").any()
    # without persons (not LFW) every image is its own person: nothing is capped
    plain = data.ImageSet("synthetic", images.images_u8, people, "test")
    assert (trained.vae_roles(plain) != "unused").all()


def test_classifier_names_of_runs_before_the_subset_field_are_unchanged():
    config = ClassifierConfig(dataset="lfw", task="rotation", num_classes=4, preset="cpu")
    old = {k: v for k, v in dataclasses.asdict(config).items() if k != "subset"}
    digest = hashlib.sha1(json.dumps(old, sort_keys=True).encode()).hexdigest()[:8]
    assert config.name.endswith(digest)
    assert dataclasses.replace(config, subset="vae-train").name != config.name


def test_change_figure_marks_differences_when_a_panel_mixes_units():
    import matplotlib

    matplotlib.use("Agg")
    from otlatent.plots.evidence import change_figure

    ev = pd.DataFrame(
        dict(
            set=["a", "b"],
            score="FID",
            change_pct=[0.8, -30.0],
            ci_low=[0.6, -60.0],
            ci_high=[1.1, 10.0],
            margin_pct=[0.15, 70.0],
            verdict=["worse", "not shown"],
            unit=["abs", "%"],
        )
    )
    ax = change_figure(ev, ["a", "b"], ["FID"]).axes[0]
    assert "diamonds" in ax.get_xlabel()
    markers = [line.get_marker() for line in ax.lines if line.get_marker() in ("D", "o")]
    assert markers == ["D", "o"]
    single = change_figure(ev.assign(unit="%"), ["a", "b"], ["FID"]).axes[0]
    assert single.get_xlabel() == "change vs random samples (%)"
