"""Accuracy tasks: real training reaches a real accuracy, weights are cached and reused, the
MNIST file is checked before it is unpickled, user evaluators load or fail clearly.

Training runs once per task per session (module fixtures) in a temporary cache directory, so
tests neither use nor fill the user's cache. The MNIST training (about 15 s on one busy core)
is marked slow.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import torch
from torch import nn

from compiler.compression import quantize_layer
from systolab.search.errors import EvaluatorError, TaskError
from systolab.search.tasks import (
    MNIST_SHA256,
    Task,
    cache_dir,
    get_task,
    load_evaluator,
    load_mnist,
    reestimate_batchnorm,
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("systolab_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYSTOLAB_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def digits(cache: Path) -> tuple[Task, nn.Module, float]:
    task = get_task("digits")
    t0 = time.perf_counter()
    model = task.pretrained()
    return task, model, time.perf_counter() - t0


def test_digits_trains_to_90_percent(digits: tuple[Task, nn.Module, float], cache: Path) -> None:
    task, model, _ = digits
    accuracy = task.evaluate(model)
    assert accuracy >= 0.90
    assert task.evaluate(model) == accuracy  # deterministic
    assert task.cache_path.parent == cache / "pretrained"
    assert task.cache_path.name.startswith("digits-digits_cnn-")
    assert task.example_input.shape == (1, 1, 8, 8)


def test_second_call_loads_the_cache(digits: tuple[Task, nn.Module, float],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    task, model, _ = digits

    def no_training(self: Task, model: nn.Module) -> None:
        raise AssertionError("a cached task must not train again")

    monkeypatch.setattr(Task, "_train", no_training)
    again = task.pretrained()
    assert again is not model
    for name, tensor in model.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name


def test_finetune_recovers_quantized_accuracy(digits: tuple[Task, nn.Module, float]) -> None:
    """2-bit weights everywhere cost accuracy; a short fine-tune through the fake-quant ops'
    straight-through gradients wins much of it back."""
    task, trained, _ = digits
    model = task.model()
    model.load_state_dict(trained.state_dict())
    for name in ("conv1", "conv2", "fc1", "fc2"):
        quantize_layer(getattr(model, name), w_bits=2, a_bits=8)
    before = task.evaluate(model)
    after = task.evaluate(task.finetune(model, steps=150, lr=1e-3))
    assert not model.training
    assert after >= 0.85 and after > before


def test_batchnorm_reestimation_gives_batch_statistics(digits: tuple[Task, nn.Module, float]) -> None:
    task, trained, _ = digits
    batch = task.calibration_batch(128)
    assert torch.equal(batch, task.calibration_batch(128))  # the same every call
    reestimate_batchnorm(trained, batch)
    assert not trained.training
    conv1, bn1 = cast(nn.Conv2d, trained.conv1), cast(nn.BatchNorm2d, trained.bn1)
    assert bn1.running_mean is not None
    assert torch.allclose(bn1.running_mean, conv1(batch).mean(dim=(0, 2, 3)), atol=1e-5)
    assert bn1.momentum == 0.1  # restored
    assert task.evaluate(trained) >= 0.9


def test_unknown_task_lists_names() -> None:
    with pytest.raises(TaskError, match=r"task name must be one of digits, mnist, mnist-resnet8, "
                                        r"mnist-lenet300, not 'mnits' \(did you mean 'mnist'"):
        get_task("mnits")


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SYSTOLAB_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "systolab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "systolab"
    monkeypatch.setenv("SYSTOLAB_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


# -- MNIST ---------------------------------------------------------------------------------------


def test_mnist_sha256_mismatch_refuses_to_unpickle(tmp_path: Path) -> None:
    fake = tmp_path / "mnist.pkl.gz"
    fake.write_bytes(gzip.compress(b"cos\nsystem\n(S'echo pwned'\ntR."))  # a hostile pickle
    with pytest.raises(TaskError, match=rf"MNIST file '{fake}' has sha256 [0-9a-f]{{64}}, "
                                        rf"expected {MNIST_SHA256} .*refusing to unpickle"):
        load_mnist(fake)


def test_mnist_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"cannot read MNIST file .*nope\.pkl\.gz"):
        load_mnist(tmp_path / "nope.pkl.gz")


@pytest.mark.slow
def test_mnist_trains_to_97_percent(cache: Path) -> None:
    task = get_task("mnist")
    t0 = time.perf_counter()
    model = task.pretrained()
    trained_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    accuracy = task.evaluate(model)
    eval_s = time.perf_counter() - t1
    assert accuracy >= 0.97
    assert task.eval_size == 2000 and eval_s < 5  # generous: busy CI cores
    assert task.example_input.shape == (1, 1, 28, 28)
    assert task.data.x_train.shape == (50_000, 1, 28, 28)
    print(f"mnist: trained in {trained_s:.1f} s, accuracy {accuracy:.4f}, eval {eval_s:.3f} s")


# -- user evaluators -----------------------------------------------------------------------------


@pytest.fixture
def evaluator_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_eval.py"
    path.write_text(
        "import torch\n"
        "def score(model):\n"
        "    return float(model(torch.ones(1, 4)).detach().sum())\n"
        "def bad(model):\n"
        "    return 'high'\n"
        "NOT_CALLABLE = 3\n")
    return path


def test_load_evaluator_from_file(evaluator_file: Path) -> None:
    model = nn.Linear(4, 2)
    nn.init.constant_(model.weight, 0.5)
    nn.init.zeros_(model.bias)
    assert load_evaluator(f"{evaluator_file}:score")(model) == 4.0


def test_load_evaluator_from_module() -> None:
    fn = load_evaluator("torch.nn.functional:relu")  # any importable callable of the model
    with pytest.raises(EvaluatorError, match=r"evaluator 'torch.nn.functional:relu' raised "
                                             r"TypeError: relu\(\): argument 'input'"):
        fn(nn.Linear(1, 1))


@pytest.mark.parametrize(("spec", "message"), [
    ("no_colon", r"evaluator must be 'module:function' or 'file.py:function', not 'no_colon'"),
    ("mod:", r"evaluator must be 'module:function' or 'file.py:function', not 'mod:'"),
    ("missing/file.py:score", r"evaluator file 'missing/file.py' does not exist"),
    ("systolab_no_such_module:f", r"cannot import evaluator module 'systolab_no_such_module'"),
    ("math:sqrtt", r"evaluator module 'math' has no function 'sqrtt' \(did you mean 'sqrt'"),
    ("math:pi", r"evaluator 'math:pi' must be callable, not float"),
])
def test_load_evaluator_errors(spec: str, message: str) -> None:
    with pytest.raises(EvaluatorError, match=message):
        load_evaluator(spec)


def test_evaluator_must_return_a_number(evaluator_file: Path) -> None:
    fn = load_evaluator(f"{evaluator_file}:bad")
    with pytest.raises(EvaluatorError, match=r"must return a finite number, not 'high'"):
        fn(nn.Linear(4, 2))
    with pytest.raises(EvaluatorError, match="must be callable, not int"):
        load_evaluator(f"{evaluator_file}:NOT_CALLABLE")


def test_evaluator_file_that_fails_to_import(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("raise ValueError('boom')\n")
    with pytest.raises(EvaluatorError, match=r"importing evaluator file .*broken.py' raised "
                                             r"ValueError: boom"):
        load_evaluator(f"{path}:score")
