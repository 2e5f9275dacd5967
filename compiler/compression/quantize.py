"""Per-layer linear quantization of a whole model: weights, then activations from calibration.

Weights are quantized symmetrically (per output channel or per tensor) with an MSE-optimal
clip per channel; activations per tensor, *unsigned* when the layer's input is non-negative
(it comes from a ReLU, ReLU6 or sigmoid, possibly through pooling, reshapes or an add of such
tensors: one more level of resolution for free) and signed otherwise. Activation clips are
searched for minimal MSE on the inputs each layer sees on calibration data (Nagel et al., "A
White Paper on Neural Network Quantization", 2021, Sections 3.5 and 4; Banner et al.,
NeurIPS 2019). Non-negativity is read from the IR graph, not guessed from data.

Fine-tuning works through the straight-through estimator of the ``torch.fake_quantize_*`` ops
(see :mod:`compiler.compression.fakequant`); gradients reach
``layer.parametrizations.weight.original``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from compiler.compression.activations import for_each_input
from compiler.compression.fakequant import ActFakeQuant, quantize_layer
from compiler.errors import PolicyError
from compiler.frontend.pytorch import trace
from compiler.ir import Graph, OpKind
from hwsim.fields import shown

__all__ = ["LayerBits", "nonnegative_inputs", "quantize_model"]

# Activations whose output is never negative.
_NONNEGATIVE_FNS = frozenset({"relu", "relu6", "sigmoid"})
# Ops whose output is non-negative when all their inputs are.
_PRESERVING = frozenset({OpKind.MAXPOOL2D, OpKind.AVGPOOL2D, OpKind.UPSAMPLE, OpKind.IDENTITY,
                         OpKind.RESHAPE,
                         OpKind.PERMUTE, OpKind.SLICE, OpKind.EXPAND, OpKind.CONCAT, OpKind.MUL})


@dataclass(frozen=True, slots=True)
class LayerBits:
    """Bits for one layer; ``None`` leaves that operand in floating point."""

    w_bits: int | None = None
    a_bits: int | None = None
    ternary: bool = False  # weights {-alpha, 0, alpha} in 2 bits (TernaryWeightQuant)


def nonnegative_inputs(graph: Graph) -> set[str]:
    """Names of the compute ops whose (first) input is provably non-negative."""
    nonneg: set[str] = set()
    for op in graph.ops():
        producers = graph.inputs_of(op.name)
        if op.kind is OpKind.ACTIVATION:
            ok = op.attrs.get("fn") in _NONNEGATIVE_FNS
        elif op.kind is OpKind.ADD:
            ok = op.attrs.get("fn") == "add" and bool(producers) and all(p in nonneg for p in producers)
        elif op.kind in _PRESERVING:
            ok = bool(producers) and all(p in nonneg for p in producers)
        else:
            ok = False
        if ok:
            nonneg.add(op.name)
    return {op.name for op in graph.compute_ops()
            if graph.inputs_of(op.name) and graph.inputs_of(op.name)[0] in nonneg}


def _collect_inputs(model: nn.Module, layers: Mapping[str, nn.Module],
                    data: torch.Tensor) -> dict[str, torch.Tensor]:
    """The input each layer sees when ``model`` runs on ``data`` (eval mode, no gradients)."""
    seen: dict[str, torch.Tensor] = {}
    for_each_input(model, layers, data, seen.__setitem__)
    return seen


def quantize_model(model: nn.Module, example_input: torch.Tensor, bits: Mapping[str, LayerBits], *,
                   calibration: torch.Tensor | None = None, per_channel: bool = True,
                   clip: str = "mse") -> nn.Module:
    """Fake-quantize the named conv/linear layers of ``model`` in place; returns ``model``.

    Weight quantizers go on first; then the model (with quantized weights, float activations)
    runs once on ``calibration`` (default: ``example_input``) and each activation quantizer's
    clip is fixed from what its layer saw. ``clip`` is "mse" (minimal quantization error) or
    "max" (max-abs).

    >>> from collections import OrderedDict
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(OrderedDict(conv1=nn.Conv2d(1, 16, 3), relu=nn.ReLU(),
    ...                                   conv2=nn.Conv2d(16, 8, 3))).eval()
    >>> x = torch.randn(1, 1, 8, 8)
    >>> model = quantize_model(model, x, {"conv2": LayerBits(4, 4)})
    >>> model.conv2.act_quant.signed, model.conv2.parametrizations.weight[0].bits
    (False, 4)
    """
    if clip not in ("mse", "max"):
        raise PolicyError(f"clip must be 'mse' or 'max', not {shown(clip)}")
    layers: dict[str, nn.Module] = {}
    for name in bits:
        try:
            layer = model.get_submodule(name)
        except AttributeError:
            raise PolicyError(f"cannot quantize layer {name!r}: the model has no such module") from None
        if not isinstance(layer, (nn.Conv2d, nn.Linear)):
            raise PolicyError(f"cannot quantize layer {name!r}: it must be a conv or linear layer, "
                              f"not {type(layer).__name__}")
        layers[name] = layer
    unsigned = nonnegative_inputs(trace(model, example_input))
    for name, layer in layers.items():
        w_bits = bits[name].w_bits
        if w_bits is not None:
            _checked(name, "w_bits", w_bits)
            quantize_layer(layer, w_bits=w_bits, per_channel=per_channel, weight_clip=clip,
                           ternary=bits[name].ternary)
    act_layers = {name: layers[name] for name, b in bits.items() if b.a_bits is not None}
    if act_layers:
        seen = _collect_inputs(model, act_layers, example_input if calibration is None else calibration)
        for name, layer in act_layers.items():
            a_bits = bits[name].a_bits
            assert a_bits is not None
            _checked(name, "a_bits", a_bits)
            if name not in seen:
                raise PolicyError(f"cannot calibrate the input quantizer of layer {name!r}: the "
                                  "layer did not run on the calibration data")
            quantize_layer(layer, a_bits=a_bits, signed_input=name not in unsigned)
            quantizer = layer.act_quant
            assert isinstance(quantizer, ActFakeQuant)
            quantizer.calibrate(seen[name], mse=clip == "mse")
    return model


def _checked(layer: str, key: str, bits: int) -> None:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
        raise PolicyError(f"policy layers.{layer}.{key} must be an integer from 1 to 16 for fake "
                          f"quantization, not {shown(bits)}")
