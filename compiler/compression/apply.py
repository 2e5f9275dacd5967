"""Apply a compression :class:`~compiler.policy.Policy` to a torch model: one entry point.

The pipeline, in order (each step in its own module):

1. copy the model (the caller's model is left as it was);
2. remove channels per ``keep`` (:mod:`compiler.compression.channels`), tied layers together,
   and prune ``nm`` layers to N:M sparsity (:mod:`compiler.compression.nm`);
3. re-estimate batch-norm statistics of the pruned float model, so that step 4 calibrates on
   sane activations (:mod:`compiler.compression.batchnorm`; only with ``reestimate_bn`` data);
4. fake-quantize weights and activations per ``w_bits``/``a_bits``
   (:mod:`compiler.compression.quantize`), activation ranges from ``calibration``;
5. re-estimate batch-norm statistics of the final model (again only with ``reestimate_bn``).

First and last layers are not special-cased: the policy decides their bits.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from compiler.compression import batchnorm
from compiler.compression.channels import remove_channels
from compiler.compression.nm import prune_nm
from compiler.compression.quantize import LayerBits, quantize_model
from compiler.errors import PolicyError, closest
from compiler.policy import Policy

__all__ = ["compress"]


def _compute_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def _check_names(model: nn.Module, policy: Policy) -> None:
    layers = _compute_layers(model)
    modules = dict(model.named_modules())
    for name in policy.layers:
        if name in layers:
            continue
        if name in modules:
            raise PolicyError(f"policy names layer {name!r}, which is a {type(modules[name]).__name__}, "
                              "not a conv or linear layer")
        raise PolicyError(f"policy names layer {name!r}, which the model does not have"
                          f"{closest(name, layers)}")


def compress(model: nn.Module, example_input: torch.Tensor, policy: Policy, *,
             calibration: torch.Tensor | None = None, prune_criterion: str = "l1",
             channel_multiple: int = 1, per_channel: bool = True,
             reestimate_bn: torch.Tensor | None = None) -> nn.Module:
    """A compressed copy of ``model``: channels removed per ``keep``, then fake-quantized.

    ``prune_criterion`` ranks filters ("l1", "l2" or "fpgm"); kept channel counts are rounded to
    a multiple of ``channel_multiple`` (e.g. the array's column count). ``per_channel`` picks
    per-output-channel weight scales. Activation clips come from ``calibration`` (default:
    ``example_input``); ``reestimate_bn`` is data on which batch-norm statistics are recomputed.
    Module names stay those of ``model``, so the policy's names still apply to the result.

    >>> from collections import OrderedDict
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(OrderedDict(conv1=nn.Conv2d(1, 16, 3), relu=nn.ReLU(),
    ...                                   conv2=nn.Conv2d(16, 8, 3))).eval()
    >>> x = torch.randn(1, 1, 8, 8)
    >>> policy = Policy.from_dict({"default": {"w_bits": 8, "a_bits": 8},
    ...                            "layers": {"conv1": {"keep": 0.5, "w_bits": 4}}})
    >>> small = compress(model, x, policy)
    >>> small.conv1.out_channels, small.conv2.in_channels, tuple(small(x).shape)
    (8, 8, (1, 8, 4, 4))
    """
    _check_names(model, policy)
    compressed = copy.deepcopy(model)
    was_training = model.training

    keep = {name: lp.keep for name, lp in policy.layers.items() if lp.keep is not None}
    if keep:
        remove_channels(compressed, example_input, keep, criterion=prune_criterion,
                        multiple=channel_multiple)
    for name, layer in _compute_layers(compressed).items():
        lp = policy.layers.get(name)
        nm = lp.nm if lp is not None and lp.nm is not None else policy.default.nm
        if nm is not None:
            try:
                prune_nm(layer, *nm)
            except PolicyError as err:
                raise PolicyError(f"policy layers.{name}.nm: {err}") from None
    if reestimate_bn is not None:
        batchnorm.reestimate_bn(compressed, reestimate_bn)

    bits: dict[str, LayerBits] = {}
    for name in _compute_layers(compressed):
        lp = policy.layers.get(name)
        w_bits = lp.w_bits if lp is not None and lp.w_bits is not None else policy.default.w_bits
        a_bits = lp.a_bits if lp is not None and lp.a_bits is not None else policy.default.a_bits
        ternary = bool((lp is not None and lp.ternary) or policy.default.ternary)
        if w_bits is not None or a_bits is not None:
            bits[name] = LayerBits(w_bits, a_bits, ternary and w_bits == 2)
    if bits:
        quantize_model(compressed, example_input, bits, calibration=calibration,
                       per_channel=per_channel)
    if reestimate_bn is not None:
        batchnorm.reestimate_bn(compressed, reestimate_bn)
    return compressed.train(was_training)
