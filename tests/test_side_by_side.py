"""Independent models trained side by side: thread policy, bit-identical results, failures reported by name."""

import pytest
import torch

from otlatent import data, side_by_side
from otlatent.dcgan import GANConfig, load_generator
from otlatent.side_by_side import Job, WorkerFailed, run_side_by_side
from otlatent.trained import train_job


def test_thread_policy_never_oversubscribes(monkeypatch):
    monkeypatch.delenv("OTLATENT_WORKERS", raising=False)
    monkeypatch.setattr(side_by_side, "usable_cores", lambda: 2)
    assert side_by_side.worker_count(2) == 2 and side_by_side.threads_per_worker(2) == 1
    assert side_by_side.worker_count(6) == 2 and side_by_side.worker_count(1) == 1
    monkeypatch.setattr(side_by_side, "usable_cores", lambda: 16)
    assert side_by_side.worker_count(6) == 6 and side_by_side.threads_per_worker(6) == 2
    assert side_by_side.worker_count(6) * side_by_side.threads_per_worker(6) <= 16
    monkeypatch.setenv("OTLATENT_WORKERS", "1")
    assert side_by_side.worker_count(6) == 1
    assert "one after another" in side_by_side.describe_workers()
    monkeypatch.setenv("OTLATENT_WORKERS", "many")
    with pytest.raises(ValueError, match="OTLATENT_WORKERS"):
        side_by_side.worker_count(2)
    with pytest.raises(ValueError, match="at least 1"):
        side_by_side.worker_count(2, workers=0)


def _configs():
    base = dict(dataset="synthetic", width=8, batch_size=16, iterations=6, seed=2, preset="smoke")
    return {p: GANConfig(prior=p, **base) for p in ("gaussian", "uniform")}


def _jobs(configs, images, root):
    return [Job(p, train_job, {"config": c, "images": images, "run_dir": root / p}) for p, c in configs.items()]


def test_models_trained_side_by_side_equal_those_trained_one_after_another(tmp_path):
    images = data.make_synthetic(96, 32, seed=0)
    configs = _configs()
    assert torch.get_num_threads() == 1  # conftest: the workers get 1 thread each on this 2-core machine too
    one = run_side_by_side(_jobs(configs, images, tmp_path / "one"), workers=1)
    two = run_side_by_side(_jobs(configs, images, tmp_path / "two"), workers=2)
    assert list(one) == list(two) == ["gaussian", "uniform"]
    for prior in configs:
        a, b = load_generator(one[prior]).generator.state_dict(), load_generator(two[prior]).generator.state_dict()
        for k in a:
            assert torch.equal(a[k], b[k]), (prior, k)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_model_is_reported_by_name_and_the_others_finish(tmp_path, workers):
    images = data.make_synthetic(96, 32, seed=0)
    good = _configs()["uniform"]
    bad = GANConfig(dataset="synthetic", prior="gaussian", resolution=64, width=8, batch_size=16, iterations=6)
    jobs = [
        Job("broken-model", train_job, {"config": bad, "images": images, "run_dir": tmp_path / "bad"}),
        Job("good-model", train_job, {"config": good, "images": images, "run_dir": tmp_path / "good"}),
    ]
    with pytest.raises(WorkerFailed, match=r"broken-model: ValueError: images have shape") as info:
        run_side_by_side(jobs, workers=workers)
    assert list(info.value.failures) == ["broken-model"]
    assert (tmp_path / "good" / "model.pt").exists() and list(info.value.results) == ["good-model"]
    assert "finished and saved: good-model" in str(info.value)


def test_job_names_must_be_distinct():
    with pytest.raises(ValueError, match="distinct"):
        run_side_by_side([Job("a", print), Job("a", print)])
    assert run_side_by_side([]) == {}
