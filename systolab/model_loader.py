"""Resolve a MODEL argument: a zoo name or ``path/to/file.py:factory``.

A factory is a function of no arguments returning either ``(model, example_input)`` or just a
model, in which case ``input_shape`` (one sample, without batch) must be given.

:func:`load_graph` is the one place a command turns a MODEL argument into the IR: it picks the
front end that reads it (today every MODEL is a torch model, traced by
:func:`compiler.frontend.pytorch.trace`), so a new front end is a module of
:mod:`compiler.frontend` plus a case here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from compiler.frontend.pytorch import trace
from compiler.ir import Graph
from compiler.policy import Policy
from hwsim.errors import SystolabError
from systolab.userfile import import_user_file
from systolab.zoo import get_model

__all__ = ["ModelLoadError", "load_graph", "load_model", "model_label"]


class ModelLoadError(SystolabError):
    """A MODEL argument that names no zoo model and no loadable factory."""


def load_model(spec: str, *, batch: int = 1,
               input_shape: Sequence[int] | None = None) -> tuple[nn.Module, torch.Tensor]:
    """Model and example input for ``spec`` (zoo name or ``file.py:factory``)."""
    if ":" not in spec or not spec.split(":", 1)[0].endswith(".py"):
        return get_model(spec, batch=batch)
    path_text, factory_name = spec.rsplit(":", 1)
    module = import_user_file(path_text, "model file", ModelLoadError)
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise ModelLoadError(f"model file {path_text!r} must define a function {factory_name!r}")
    result = factory()
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], nn.Module):
        model, example = result
        if batch != example.shape[0]:
            example = example[:1].expand(batch, *example.shape[1:])  # a view: no copy
    elif isinstance(result, nn.Module):
        if input_shape is None:
            raise ModelLoadError(
                f"factory {factory_name!r} returned only a model: return (model, example_input) "
                "or pass --input-shape C,H,W")
        model, example = result, torch.randn(1, *input_shape).expand(batch, *input_shape)
    else:
        raise ModelLoadError(f"factory {factory_name!r} must return an nn.Module or "
                             f"(nn.Module, example_input), not {type(result).__name__}")
    return model.eval(), example


def load_graph(spec: str, *, batch: int = 1,
               policy: Policy | str | Path | None = None) -> Graph:
    """The IR graph of MODEL ``spec`` (before the compiler's passes), with the compression the
    model carries and ``policy`` applied on top."""
    model, example = load_model(spec, batch=batch)
    return trace(model, example, policy=policy)


def model_label(spec: str) -> str:
    """How reports name MODEL ``spec``: the zoo name, or ``file.py:factory`` without folders."""
    return Path(spec).name if ":" in spec else spec
