"""A small CNN classifier: the feature extractor for sample-quality scores on this machine.

The Inception network of the inception score (IS) and of FID/KID is trained on ImageNet
and its weights must be downloaded; on a machine without them (and on datasets far
from ImageNet: digits, procedural shapes) a small classifier trained on the dataset
itself is the usual substitute (e.g. the "MNIST score").  Its logits give a
classifier-based inception score, its penultimate layer (global-average-pooled
convolution features) the embedding for FID and KID.

Two tasks:

``"labels"``
    the dataset's own classes (synthetic: 10 shapes; MNIST: 10 digits).
``"rotation"``
    self-supervised rotation prediction (Gidaris et al., 2018): every image is
    rotated by k x 90 degrees and the network predicts k (4 classes).  It needs no
    labels, so it gives FID/KID features for unlabelled datasets (faces); its
    "inception score" is meaningless (every generated image is upright) and is
    not reported.

Training is seeded (a run with the same :class:`ClassifierConfig` gives the same
weights) and cached: the finished model lives in
``<data root>/classifiers/<config.name>/model.pt``, written atomically, and is
reloaded instead of retrained.

:class:`ClassifierFeatures` registers the trained network with torch-fidelity as the
feature extractor ``"otlatent-classifier"`` (features ``"pool"`` and ``"logits"``), its
weights passed as ``feature_extractor_weights_path`` -- the same mechanism
torch-fidelity uses for its own Inception weights.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import __version__
from .data import to_float
from .runs import RunConfig, check_finite, finished_run, progress_bar
from .runtime import load_checkpoint, save_checkpoint, torch_threads

__all__ = [
    "ClassifierConfig",
    "SmallCNN",
    "TrainedClassifier",
    "train_classifier",
    "load_classifier",
    "rotate_batch",
    "split_indices",
    "ClassifierFeatures",
    "FIDELITY_NAME",
    "TASKS",
]

TASKS = ("labels", "rotation")
#: The name under which :class:`ClassifierFeatures` is registered with torch-fidelity.
FIDELITY_NAME = "otlatent-classifier"


@dataclasses.dataclass(frozen=True)
class ClassifierConfig(RunConfig):
    """Everything that determines a classifier run (equal configs give equal weights)."""

    dataset: str
    task: str = "labels"  # "labels" or "rotation"
    num_classes: int = 10
    nc: int = 3
    resolution: int = 32
    width: int = 16
    epochs: int = 5
    batch_size: int = 64
    lr: float = 6e-3
    weight_decay: float = 5e-4
    n_train: int = 8000
    n_test: int = 2000
    #: which of the dataset's images it was trained on: ``""`` all of them (split by :func:`split_indices`),
    #: ``"vae-train"`` only the training images of notebook 07's VAE (so that its held-out people are unseen)
    subset: str = ""

    positive = ("num_classes", "epochs", "batch_size", "n_train", "n_test", "width")
    folder = "classifiers"

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.task == "rotation" and self.num_classes != 4:
            raise ValueError("the rotation task has 4 classes")
        super().__post_init__()

    @property
    def name(self) -> str:
        fields = dataclasses.asdict(self)
        if not fields["subset"]:
            del fields["subset"]  # added later: runs on all the images keep their names
        digest = hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:8]
        return f"cnn_{self.dataset}_{self.task}_{self.resolution}px_{self.preset}_seed{self.seed}_{digest}"


class SmallCNN(nn.Module):
    """Four 3x3 convolutions (widths w, 2w, 4w, 4w; the last three with stride 2), batch norm and ReLU,
    global average pooling (the ``pool`` features, 4w-dimensional) and a linear layer (``logits``).
    """

    def __init__(self, nc: int = 3, num_classes: int = 10, width: int = 16):
        super().__init__()
        w = width

        def block(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.body = nn.Sequential(
            *block(nc, w, 1),
            *block(w, 2 * w, 2),
            *block(2 * w, 4 * w, 2),
            *block(4 * w, 4 * w, 2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * w, num_classes)
        self.feature_dim = 4 * w

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pool, logits)`` for float images in [-1, 1], shape (N, nc, H, W)."""
        pool = self.body(x)
        return pool, self.head(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[1]


def rotate_batch(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Rotate image ``i`` of (N, C, H, W) by ``k[i]`` x 90 degrees counter-clockwise."""
    out = x.clone()
    for r in range(1, 4):
        idx = (k == r).nonzero(as_tuple=True)[0]
        if len(idx):
            out[idx] = torch.rot90(x[idx], r, dims=(2, 3))
    return out


def split_indices(n: int, n_train: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint train/test indices into ``n`` images: a seeded permutation, the test set first.

    ``n_test`` images are always held out; training takes ``min(n_train, n - n_test)``.
    """
    if n_test >= n:
        raise ValueError(f"cannot hold out {n_test} test images from {n}")
    perm = np.random.default_rng(seed).permutation(n)
    test = perm[:n_test]
    train = perm[n_test : n_test + min(n_train, n - n_test)]
    return np.sort(train), np.sort(test)


@dataclasses.dataclass
class TrainedClassifier:
    """A trained :class:`SmallCNN` (eval mode) with its config, test accuracy and training history."""

    config: ClassifierConfig
    model: SmallCNN
    test_accuracy: float
    history: dict
    seconds: float
    path: Path | None
    n_train_used: int = 0  # training images actually used (at most config.n_train)

    @torch.no_grad()
    def features(self, images_u8, batch_size: int = 512, device: str = "cpu") -> dict[str, torch.Tensor]:
        """``{"pool": (N, 4w), "logits": (N, K)}`` float64 for uint8 images (N, C, H, W)."""
        with torch_threads(1 if str(device) == "cpu" else torch.get_num_threads()):
            return self._features(images_u8, batch_size, device)

    def _features(self, images_u8, batch_size, device):
        self.model.eval().to(device)
        pools, logits = [], []
        data = torch.as_tensor(images_u8)
        for s in range(0, len(data), batch_size):
            p, lg = self.model.features(to_float(data[s : s + batch_size]).to(device))
            pools.append(p.double().cpu())
            logits.append(lg.double().cpu())
        return {"pool": torch.cat(pools), "logits": torch.cat(logits)}

    def accuracy(self, images_u8, labels, device: str = "cpu") -> float:
        """Fraction of ``images_u8`` classified as ``labels`` (for the rotation task: labels are the rotations)."""
        logits = self.features(images_u8, device=device)["logits"]
        return float((logits.argmax(1).numpy() == np.asarray(labels)).mean())


def _targets(config: ClassifierConfig, x_u8: torch.Tensor, labels, gen: torch.Generator):
    x = to_float(x_u8)
    if config.task == "labels":
        return x, torch.as_tensor(labels, dtype=torch.int64)
    k = torch.randint(0, 4, (len(x),), generator=gen)
    return rotate_batch(x, k), k


def train_classifier(
    images_u8, labels, config: ClassifierConfig, run_dir: Path | None = None, device: str = "cpu", progress: bool = True
) -> TrainedClassifier:
    """Train (or reload) a :class:`SmallCNN` on uint8 images; the split is :func:`split_indices`.

    ``labels`` are the class labels (task ``"labels"``) or ``None`` (task ``"rotation"``).  AdamW with a
    one-cycle learning-rate schedule over ``config.epochs`` passes of the training images, seeded batches and
    (rotation task) seeded rotations.  The test accuracy is measured on the held-out images
    (rotation task: each rotated by a seeded random multiple of 90 degrees).

    On the CPU it runs with one torch thread (see :class:`otlatent.runtime.torch_threads`).
    """
    with torch_threads(1 if str(device) == "cpu" else torch.get_num_threads()):
        return _train(images_u8, labels, config, run_dir, device, progress)


def _train(
    images_u8, labels, config: ClassifierConfig, run_dir: Path | None, device: str, progress: bool
) -> TrainedClassifier:
    """The training of :func:`train_classifier`."""
    images_u8 = np.asarray(images_u8)
    if images_u8.dtype != np.uint8 or images_u8.ndim != 4:
        raise ValueError("expected uint8 images (N, C, H, W)")
    if config.task == "labels":
        if labels is None:
            raise ValueError(f"task 'labels' needs labels; dataset {config.dataset!r} has none (use task='rotation')")
        labels = np.asarray(labels, dtype=np.int64)
        if labels.min() < 0 or labels.max() >= config.num_classes:
            raise ValueError(f"labels must lie in [0, {config.num_classes})")
    model_path, _, finished = finished_run(config, images_u8, run_dir, load_classifier, device)
    if finished is not None:
        return finished
    train_idx, test_idx = split_indices(len(images_u8), config.n_train, config.n_test, config.seed)
    torch.manual_seed(config.seed)
    model = SmallCNN(config.nc, config.num_classes, config.width).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, len(train_idx) // config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.15
    )
    x_all = torch.from_numpy(images_u8)
    y_all = None if labels is None else torch.from_numpy(labels)
    history = {"loss": [], "train_accuracy": []}
    t0 = time.monotonic()
    total = config.epochs * steps_per_epoch
    bar = progress_bar(config.name, 0, total, total, progress)
    gen = torch.Generator().manual_seed(config.seed + 1)
    model.train()
    for epoch in range(config.epochs):
        order = torch.from_numpy(train_idx)[torch.randperm(len(train_idx), generator=gen)]
        for s in range(steps_per_epoch):
            idx = order[s * config.batch_size : (s + 1) * config.batch_size]
            x, y = _targets(config, x_all[idx], None if y_all is None else y_all[idx], gen)
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            history["loss"].append(loss.item())
            history["train_accuracy"].append((logits.argmax(1) == y).float().mean().item())
            bar.update(1)
            if s % 20 == 0:
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", refresh=False)
        check_finite(config, len(history["loss"]) - 1, model_path, loss=history["loss"][-1])
    bar.close()
    model.eval()
    seconds = time.monotonic() - t0
    run = TrainedClassifier(
        config,
        model.cpu(),
        float("nan"),
        {k: np.asarray(v) for k, v in history.items()},
        seconds,
        model_path,
        len(train_idx),
    )
    test_x = images_u8[test_idx]
    if config.task == "labels":
        test_y = labels[test_idx]
    else:
        k = torch.randint(0, 4, (len(test_idx),), generator=torch.Generator().manual_seed(config.seed + 2))
        test_x = data_u8_rotated(test_x, k)
        test_y = k.numpy()
    run.test_accuracy = run.accuracy(test_x, test_y)
    save_checkpoint(
        {
            "config": dataclasses.asdict(config),
            "model": run.model.state_dict(),
            "test_accuracy": run.test_accuracy,
            "history": run.history,
            "seconds": seconds,
            "train_indices": train_idx,
            "test_indices": test_idx,
            "version": __version__,
        },
        model_path,
    )
    return run


def data_u8_rotated(images_u8, k: torch.Tensor) -> np.ndarray:
    """uint8 images rotated by ``k[i]`` x 90 degrees (exact: rotation permutes pixels)."""
    return rotate_batch(torch.as_tensor(np.asarray(images_u8)), k).numpy()


def load_classifier(path: str | Path, device: str = "cpu") -> TrainedClassifier:
    """Reload a model saved by :func:`train_classifier` (eval mode)."""
    state = load_checkpoint(path, device)
    config = ClassifierConfig(**state["config"])
    model = SmallCNN(config.nc, config.num_classes, config.width)
    model.load_state_dict(state["model"])
    model.eval()
    return TrainedClassifier(
        config,
        model,
        state["test_accuracy"],
        state["history"],
        state["seconds"],
        Path(path),
        len(state["train_indices"]),
    )


# --------------------------------------------------------------------------- torch-fidelity


try:
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase as _Base
except ImportError:  # pragma: no cover - torch-fidelity is a dependency
    _Base = nn.Module


class ClassifierFeatures(_Base):
    """A trained :class:`SmallCNN` as a torch-fidelity feature extractor.

    Takes uint8 images (N, C, H, W) like torch-fidelity's Inception; provides ``"pool"`` (the
    penultimate layer, default for FID/KID/PRC) and ``"logits"`` (default for the inception score).
    ``feature_extractor_weights_path`` is a ``model.pt`` written by :func:`train_classifier`; there is
    nothing to download, so it is required.
    """

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        super().__init__(name, features_list)
        if feature_extractor_weights_path is None:
            raise ValueError(f"{name}: pass feature_extractor_weights_path= the model.pt of a trained classifier")
        self.net = load_classifier(feature_extractor_weights_path).model
        self.net.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_provided_features_list():
        return ("pool", "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits", "fid": "pool", "kid": "pool", "prc": "pool"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 3, 32, 32, dtype=torch.uint8)

    def forward(self, x):
        if not (torch.is_tensor(x) and x.dtype == torch.uint8 and x.dim() == 4):
            raise TypeError("expected a uint8 tensor (N, C, H, W)")
        pool, logits = self.net.features(to_float(x))
        out = {"pool": pool, "logits": logits}
        return tuple(out[f] for f in self.features_list)


def _register() -> None:
    try:
        from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor
    except ImportError:  # pragma: no cover
        return
    if FEATURE_EXTRACTORS_REGISTRY.get(FIDELITY_NAME) is not ClassifierFeatures:
        FEATURE_EXTRACTORS_REGISTRY.pop(FIDELITY_NAME, None)  # a reloaded module replaces its older class
        register_feature_extractor(FIDELITY_NAME, ClassifierFeatures)


_register()
