"""The small CNN that scores samples: architecture, seeded cached training, the torch-fidelity extractor."""

import numpy as np
import pytest
import torch
import torch_fidelity

from otlatent import classifier as C
from otlatent import metrics


def test_small_cnn_shapes():
    net = C.SmallCNN(nc=1, num_classes=7, width=4).eval()
    pool, logits = net.features(torch.zeros(5, 1, 32, 32))
    assert pool.shape == (5, 16) and logits.shape == (5, 7) and net.feature_dim == 16
    assert torch.equal(net(torch.zeros(2, 1, 32, 32)), net.features(torch.zeros(2, 1, 32, 32))[1])


def test_rotate_batch():
    x = torch.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    k = torch.tensor([1, 3])
    r = C.rotate_batch(x, k)
    assert torch.equal(r[0], torch.rot90(x[0], 1, (1, 2))) and torch.equal(r[1], torch.rot90(x[1], 3, (1, 2)))
    assert torch.equal(C.rotate_batch(x, torch.zeros(2, dtype=torch.long)), x)
    y = x
    for _ in range(4):
        y = C.rotate_batch(y, torch.ones(2, dtype=torch.long))
    assert torch.equal(y, x)


def test_split_indices():
    train, test = C.split_indices(100, 70, 20, seed=1)
    assert len(train) == 70 and len(test) == 20 and not set(train) & set(test)
    train2, test2 = C.split_indices(100, 1000, 20, seed=1)
    assert len(train2) == 80 and np.array_equal(test, test2)
    assert not np.array_equal(test, C.split_indices(100, 70, 20, seed=2)[1])
    with pytest.raises(ValueError, match="hold out"):
        C.split_indices(10, 5, 10, seed=0)


def _colour_images(n, seed):
    """Three classes: the dominant colour channel (red, green, blue) of noisy 16 px images."""
    g = np.random.default_rng(seed)
    labels = g.integers(0, 3, n)
    x = g.uniform(0, 120, (n, 3, 16, 16))
    x[np.arange(n), labels] += 120
    return x.astype(np.uint8), labels


def _arrow_images(n, seed):
    """Unlabelled images whose top rows are bright: their rotation is visible."""
    g = np.random.default_rng(seed)
    x = g.uniform(0, 100, (n, 1, 16, 16))
    x[:, :, :4] += 150
    return x.astype(np.uint8)


def _config(**kw):
    base = dict(
        dataset="synthetic",
        num_classes=3,
        nc=3,
        resolution=16,
        width=4,
        epochs=4,
        batch_size=32,
        lr=1e-2,
        n_train=600,
        n_test=200,
        seed=0,
        preset="smoke",
    )
    return C.ClassifierConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    x, y = _colour_images(800, 0)
    run = C.train_classifier(x, y, _config(), run_dir=tmp_path_factory.mktemp("clf"), progress=False)
    return run, x, y


def test_training_learns_an_easy_task(trained):
    run, x, y = trained
    assert run.test_accuracy > 0.95 and run.n_train_used == 600
    assert C.load_classifier(run.path).n_train_used == 600
    _, test = C.split_indices(len(x), 600, 200, 0)
    assert run.accuracy(x[test], y[test]) == pytest.approx(run.test_accuracy)


def test_training_is_seeded_and_cached(trained, tmp_path, monkeypatch):
    run, x, y = trained
    again = C.train_classifier(x, y, _config(), run_dir=tmp_path / "a", progress=False)
    for k, v in run.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k]), k
    # a finished model is reloaded, not retrained
    monkeypatch.setattr(C.SmallCNN, "forward", lambda *a: (_ for _ in ()).throw(AssertionError("retrained")))
    cached = C.train_classifier(x, y, _config(), run_dir=tmp_path / "a", progress=False)
    assert cached.seconds == again.seconds and cached.test_accuracy == again.test_accuracy
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="another configuration"):
        other = C.train_classifier(x, y, _config(seed=1), run_dir=tmp_path / "a", progress=False)
    assert other.config.seed == 1 and C.load_classifier(tmp_path / "a" / "model.pt").config.seed == 1


def test_rotation_task_needs_no_labels(tmp_path):
    x = _arrow_images(800, 1)
    cfg = _config(task="rotation", num_classes=4, nc=1)
    run = C.train_classifier(x, None, cfg, run_dir=tmp_path, progress=False)
    assert run.test_accuracy > 0.95
    with pytest.raises(ValueError, match="labels"):
        C.train_classifier(x, None, _config(nc=1), run_dir=tmp_path / "b", progress=False)
    with pytest.raises(ValueError, match="4 classes"):
        C.ClassifierConfig("lfw", task="rotation", num_classes=10)


def test_classifier_is_a_torch_fidelity_feature_extractor(trained):
    run, x, y = trained
    g = np.random.default_rng(3)
    fake = x[g.permutation(len(x))[:300]].copy()
    fake[:150] = fake[:150] // 2  # darker images: further from the reference
    reference = x[:250]
    out = metrics.fidelity_metrics(
        fake,
        reference,
        feature_extractor=C.FIDELITY_NAME,
        weights_path=run.path,
        isc=True,
        fid=True,
        kid=True,
        splits=3,
        kid_subsets=10,
        kid_subset_size=200,
    )
    f, r = run.features(fake), run.features(reference)
    isc = metrics.inception_score(logits=f["logits"], splits=3)
    np.testing.assert_allclose(out["inception_score_mean"], isc["mean"], rtol=1e-5)
    np.testing.assert_allclose(
        out["frechet_inception_distance"], metrics.frechet_distance(f["pool"], r["pool"]), rtol=1e-4
    )
    kid = metrics.kernel_distance(f["pool"], r["pool"], subsets=10, subset_size=200)
    np.testing.assert_allclose(out["kernel_inception_distance_mean"], kid["mean"], rtol=1e-4)
    assert 1 <= isc["mean"] <= 3
    with pytest.raises(ValueError, match="weights_path"):
        torch_fidelity.calculate_metrics(
            input1=metrics.U8Images(fake),
            isc=True,
            feature_extractor=C.FIDELITY_NAME,
            cuda=False,
            verbose=False,
            cache=False,
            save_cpu_ram=True,
        )
