"""Resolve a MODEL argument: a zoo name, ``path/to/file.py:factory`` or ``model.onnx``.

A factory is a function of no arguments returning ``(model, example_input)``, the example a
tensor whose first dimension is the batch (API callers may instead return just a model and pass
``input_shape``, one sample without the batch). The factory runs inside
:func:`~systolab.userfile.run_user_code`: whatever it raises, ``sys.exit`` included, is one
:class:`ModelLoadError` naming it.

:func:`load_graph` is the one place a command turns a MODEL argument into the IR: it picks the
front end that reads it (an ``.onnx`` file: :func:`compiler.frontend.onnxfile.load_onnx`;
anything else is a torch model, traced by :func:`compiler.frontend.pytorch.trace`), so a new
front end is a module of :mod:`compiler.frontend` plus a case here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler.frontend.onnxfile import load_onnx
from compiler.ir import Graph
from compiler.policy import Policy, apply_policy, load_policy
from hwsim.errors import SystolabError
from hwsim.fields import shown
from systolab.userfile import import_user_file, run_user_code

if TYPE_CHECKING:  # torch is imported when a torch model is loaded: ONNX files need none
    import torch
    from torch import nn

__all__ = ["ModelLoadError", "load_graph", "load_model", "model_label"]


class ModelLoadError(SystolabError):
    """A MODEL argument that names no zoo model and no loadable factory."""


def load_model(spec: str, *, batch: int = 1,
               input_shape: Sequence[int] | None = None) -> tuple[nn.Module, torch.Tensor]:
    """Model and example input for ``spec`` (zoo name or ``file.py:factory``)."""
    import torch
    from torch import nn

    from systolab.zoo import get_model

    if ":" not in spec or not spec.split(":", 1)[0].endswith(".py"):
        return get_model(spec, batch=batch)
    path_text, factory_name = spec.rsplit(":", 1)
    module = import_user_file(path_text, "model file", ModelLoadError)
    factory = getattr(module, factory_name, None)
    what = f"model factory {factory_name!r} in {path_text!r}"
    if not callable(factory):
        raise ModelLoadError(f"model file {path_text!r} must define a function {factory_name!r}")
    needed = _required_parameters(factory)
    if needed:
        raise ModelLoadError(f"{what} must take no arguments (it needs {', '.join(needed)}): "
                             f"{RETURNS}")
    result = run_user_code(what, ModelLoadError, factory)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], nn.Module):
        model, example = result
        if not isinstance(example, torch.Tensor) or example.dim() < 1:
            kind = (f"a {example.dim()}-d tensor" if isinstance(example, torch.Tensor)
                    else type(example).__name__)
            raise ModelLoadError(f"{what} returned an example input that is {kind}: it must be "
                                 "a tensor whose first dimension is the batch, e.g. "
                                 "torch.zeros(1, 3, 32, 32)")
        if batch != example.shape[0]:
            example = example[:1].expand(batch, *example.shape[1:])  # a view: no copy
    elif isinstance(result, nn.Module):
        if input_shape is None:
            raise ModelLoadError(f"{what} returned only a model, and its input shape cannot be "
                                 f"guessed: {RETURNS}")
        model, example = result, torch.zeros(1, *input_shape).expand(batch, *input_shape)
    else:
        raise ModelLoadError(f"{what} returned {type(result).__name__}: {RETURNS}")
    return model.eval(), example


RETURNS = ("a factory takes no arguments and returns (model, example_input), the example a "
           "tensor with the batch first, e.g. (Net(), torch.zeros(1, 3, 32, 32))")


def _required_parameters(fn: Callable[..., Any]) -> list[str]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return []
    return [p.name for p in params if p.default is p.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def load_graph(spec: str, *, batch: int = 1,
               policy: Policy | str | Path | None = None) -> Graph:
    """The IR graph of MODEL ``spec`` (before the compiler's passes), with the compression the
    model carries and ``policy`` applied on top."""
    if spec.endswith(".onnx"):
        graph = load_onnx(spec, batch=batch)
        return apply_policy(graph, policy if isinstance(policy, Policy) else load_policy(policy)) \
            if policy is not None else graph
    from compiler.frontend.pytorch import trace

    model, example = load_model(spec, batch=batch)
    # tracing runs the model's own forward: it may raise, recurse or call sys.exit
    graph = run_user_code(f"tracing model {spec!r}", ModelLoadError,
                          functools.partial(trace, model, example, policy=policy))
    if not graph.compute_ops():
        raise ModelLoadError(f"model {spec!r} has no compute layer (convolution, linear or "
                             "matrix multiply): there is nothing for the array to run")
    return graph


def measured_input_density(spec: str, source: str, *,
                           policy: Policy | str | Path | None = None) -> dict[str, float]:
    """Each compute layer's share of non-zero inputs when MODEL ``spec`` (compressed by
    ``policy``) runs on ``source``: ``"example"`` (the model's example input) or a built-in
    task's name (256 of its test images, which must fit the model's input). A zoo model that
    the task trains runs with the task's trained weights (random ones say little about the
    zeros a trained network produces)."""
    from compiler.compression import compress
    from compiler.compression.activations import measure_input_density

    model, example = load_model(spec)
    if source == "example":
        data = example
    else:
        from systolab.search.tasks import TASKS, get_task

        if source not in TASKS:
            raise ModelLoadError(f"--activation-data must be 'example' or a task name "
                                 f"({', '.join(TASKS)}), not {shown(source)}")
        task = get_task(source)
        data = task.data.x_test[:256]
        if spec == task.model_name:
            model = task.pretrained()
        if tuple(data.shape[1:]) != tuple(example.shape[1:]):
            raise ModelLoadError(f"the {source} task's images are "
                                 f"{'x'.join(map(str, data.shape[1:]))}, but model {spec!r} "
                                 f"takes {'x'.join(map(str, example.shape[1:]))}")
    if policy is not None:
        model = compress(model, example, policy if isinstance(policy, Policy)
                         else load_policy(policy), calibration=data)
    return run_user_code(f"running model {spec!r} on its activation data", ModelLoadError,
                         measure_input_density, model, data)


def model_label(spec: str) -> str:
    """How reports name MODEL ``spec``: the zoo name, ``file.py:factory`` or ``model.onnx``
    without folders."""
    return Path(spec).name if ":" in spec or spec.endswith(".onnx") else spec
