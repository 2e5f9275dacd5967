"""torch.fx module calls rewritten into the ATen-like call form of
:mod:`compiler.frontend.convert`, so that one converter table serves torch.fx and torch.export.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from compiler.frontend.annotations import bits_of
from compiler.frontend.capture import Call
from compiler.ir import TensorSpec

__all__ = ["module_call"]


def module_call(call: Call) -> Call:
    """Rewrite a torch.fx module call into the ATen-like form the converters read."""
    m, x = call.module, call.args[0] if call.args else None
    out = call

    def as_call(target: str, *args: Any) -> Call:
        return Call(call.node, target, args, {}, call.output, call.scope, m, origin=call.origin)

    def wspec(t: Any) -> TensorSpec:
        return TensorSpec(tuple(int(d) for d in t.shape))

    bits = bits_of(m)
    if type(m).__name__ in ("QuantStub", "DeQuantStub"):  # eager-mode torch.ao stubs
        bits = bits_of(getattr(m, "activation_post_process", None))
        out = as_call("dropout", x) if bits is None else as_call("fake_quant_module", x)
        if bits is not None:
            out.kwargs["bits"] = bits
    elif bits is not None and not isinstance(m, (nn.Conv2d, nn.Linear)):
        out = as_call("fake_quant_module", x)
        out.kwargs["bits"] = bits
    elif isinstance(m, nn.Conv1d | nn.Conv2d):
        out = as_call(f"conv{1 if isinstance(m, nn.Conv1d) else 2}d", x, wspec(m.weight), m.bias,
                      m.stride, m.padding, m.dilation, m.groups)
    elif isinstance(m, nn.ConvTranspose2d):
        out = as_call("conv_transpose2d", x, wspec(m.weight), m.bias, m.stride, m.padding,
                      m.output_padding, m.groups)
    elif isinstance(m, nn.MaxPool1d | nn.MaxPool2d | nn.AvgPool1d | nn.AvgPool2d):
        kind = "max" if isinstance(m, nn.MaxPool1d | nn.MaxPool2d) else "avg"
        dims = 1 if isinstance(m, nn.MaxPool1d | nn.AvgPool1d) else 2
        out = as_call(f"{kind}_pool{dims}d", x, m.kernel_size, m.stride)
    elif isinstance(m, nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d):
        dims = 1 if isinstance(m, nn.AdaptiveAvgPool1d) else 2
        out = as_call(f"adaptive_avg_pool{dims}d", x, m.output_size)
    elif isinstance(m, nn.Upsample):
        out = as_call("interpolate", x)
        out.kwargs["mode"] = m.mode
    elif isinstance(m, nn.Linear):
        out = as_call("linear", x, wspec(m.weight), m.bias)
    elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        out = as_call("batch_norm", x, m.weight)
    elif isinstance(m, nn.LayerNorm):
        out = as_call("layer_norm", x, list(m.normalized_shape), m.weight)
    elif isinstance(m, nn.Hardtanh):  # ReLU6 is a Hardtanh
        out = as_call("relu6" if isinstance(m, nn.ReLU6) else "hardtanh", x, m.min_val, m.max_val)
    elif isinstance(m, (nn.ReLU, nn.GELU, nn.SiLU, nn.Hardswish, nn.Sigmoid)):
        out = as_call(type(m).__name__.lower(), x)
    elif isinstance(m, (nn.Flatten, nn.Unflatten)):
        out = as_call("flatten", x)
    elif isinstance(m, (nn.Dropout, nn.Identity)):
        out = as_call("dropout", x)
    elif isinstance(m, nn.Softmax):
        out = as_call("softmax", x, m.dim)
    elif isinstance(m, nn.Embedding):
        out = as_call("embedding_module", x, wspec(m.weight))
    return out
