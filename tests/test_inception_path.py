"""The real Inception path end to end, with a stand-in weight file: a randomly initialised Inception-v3 saved in
the format torch-fidelity loads (``weights-inception-2015-12-05-6726825d.pth``). Its numbers are not inception
scores and are never printed as such; the tests check that the study's path computes what torch-fidelity computes
with the same file, and that its scores go through the same replicated verdicts as the substitute scores."""

from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch

from otlatent import metrics
from otlatent.metrics import calibration


@pytest.fixture(scope="module")
def standin_weights(tmp_path_factory):
    """A random Inception-v3 state dict (torch-fidelity's architecture and key names), seeded."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    torch.manual_seed(0)
    with (
        mock.patch("torch.load", return_value={}),
        mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None),
    ):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path="standin")
    path = tmp_path_factory.mktemp("weights") / metrics.INCEPTION_WEIGHTS_FILE
    torch.save(net.state_dict(), path)
    return path


def _images(seed, n=8, blur=None):
    """``n`` random uint8 colour images of 32 px (blurred by ``blur`` when given)."""
    x = torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 3, 32, 32), dtype=np.uint8))
    return x if blur is None else calibration.degrade(x, "blur", blur)


def test_the_weight_file_is_found_where_documented(standin_weights, monkeypatch):
    monkeypatch.setenv("OTLATENT_INCEPTION_WEIGHTS", str(standin_weights))
    status = metrics.inception_status(allow_download=False)
    assert status["available"] and status["weights_path"] == standin_weights


def test_inception_features_are_torch_fidelitys(standin_weights):
    x, ref = _images(1), _images(2)
    f = metrics.inception_features(x, standin_weights)
    assert f["pool"].shape == (8, 2048) and f["logits"].shape == (8, 1008)
    assert torch.isfinite(f["pool"]).all() and torch.isfinite(f["logits"]).all()
    grey = metrics.inception_features(x[:, :1], standin_weights)  # grey images are repeated to RGB
    assert torch.allclose(
        grey["pool"], metrics.inception_features(x[:, :1].expand(-1, 3, -1, -1), standin_weights)["pool"]
    )

    # the same numbers as torch-fidelity's calculate_metrics with the same weight file
    ours = metrics.set_scores(f, None, metrics.inception_features(ref, standin_weights), splits=2)
    theirs = metrics.fidelity_metrics(
        x, ref, weights_path=standin_weights, isc=True, fid=True, kid=True, splits=2, kid_subsets=1, kid_subset_size=8
    )
    assert ours["IS"] == pytest.approx(theirs["inception_score_mean"], rel=1e-5)
    assert ours["FID"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-3, abs=1e-6)
    # one subset of all 8 samples is the full set: KID's subset estimator equals the full-set unbiased MMD^2
    assert ours["KID"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-4, abs=1e-9)


def test_inception_scores_go_through_the_replicated_verdicts(standin_weights):
    """Two replicates x (3 random-sample draws + one blurred set), scored in the stand-in Inception space and
    judged by metrics.evidence exactly like the classifier's scores."""
    ref = metrics.inception_features(_images(99), standin_weights)
    rows = []
    for rep in range(2):
        sets = {("random samples", k): _images(10 * rep + k, n=4) for k in range(3)}
        sets[("blurred", 0)] = _images(10 * rep + 5, n=4, blur=2.0)
        for (name, draw), x in sets.items():
            scores = metrics.set_scores(metrics.inception_features(x, standin_weights), x, ref, splits=2)
            rows += [
                dict(replicate=rep, set=name, draw=draw, score=f"{k} (Inception)", value=v)
                for k, v in scores.items()
                if k in ("IS", "FID", "KID")
            ]
    values = pd.DataFrame(rows)
    ev = metrics.evidence(values, metrics.WORSE, tested_worse=["blurred"], tested_equivalent=[])
    assert set(ev.score) == {"IS (Inception)", "FID (Inception)", "KID (Inception)"}
    assert set(ev.set) == {"blurred", metrics.RANDOM_VS_RANDOM}
    assert ev.verdict.str.len().gt(0).all()
    # a random network's scores are not inception scores: its IS is constant and its KID is zero for every set, so
    # they are reported as untestable rather than passed or failed; its FID still varies and gets tested
    ev = ev.set_index(["set", "score"])
    for score in ("IS (Inception)", "KID (Inception)"):
        assert ev.loc[("blurred", score), "verdict"].startswith("no test")
    fid = ev.loc[("blurred", "FID (Inception)")]
    assert not fid.verdict.startswith("no test") and np.isfinite(fid.change_pct) and np.isfinite(fid.p_worse)
