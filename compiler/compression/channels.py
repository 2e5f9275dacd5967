"""Channel pruning that physically removes channels and fixes every layer that reads them.

A *channel group* is one channel index space of the traced IR graph: the output channels of
one or more convs/linears (*producers*), carried through batch norms, activations, pooling and
depthwise convs, and read by the next convs/linears (*consumers*, along their input dim). A
residual add ties the spaces of its operands into one group, so every conv whose output meets
at the add loses the same channels (the constraint of AMC, He et al., ECCV 2018, and of
ResRep/"group" pruning generally). A flatten before a linear maps channel ``c`` to the
``H*W`` input features ``c*H*W .. c*H*W + H*W - 1``.

Removing channels of a group slices the producers' filters (and biases), the depthwise convs'
filters (their ``groups``, ``in_channels`` and ``out_channels`` shrink together), the batch
norms' affine terms and running statistics, and the consumers' input dim. Channels are chosen
by the group's summed filter importance (:func:`compiler.compression.prune.filter_importance`),
each member's scores scaled to mean 1 so that a 1x1 projection and a 3x3 conv weigh alike.

Channels that reach the model's input or output, a concat, a reshape other than a flatten, an
attention matmul, a grouped conv and so on cannot be removed: such a group records why, and a
request to prune it is a :class:`PolicyError` naming the layer and the op in the way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from compiler.compression.prune import filter_importance, kept_channels
from compiler.errors import PolicyError, closest
from compiler.frontend.pytorch import trace
from compiler.ir import Graph, Op, OpKind

__all__ = ["ChannelGroup", "PrunedGroup", "channel_groups", "remove_channels"]

log = logging.getLogger(__name__)

_REASONS = {OpKind.INPUT: "the model input", OpKind.OUTPUT: "the model output"}
# Ops whose output carries its input's channels unchanged.
_FOLLOWERS = frozenset({OpKind.ACTIVATION, OpKind.IDENTITY, OpKind.MAXPOOL2D, OpKind.AVGPOOL2D,
                        OpKind.UPSAMPLE})


@dataclass(frozen=True, slots=True)
class ChannelGroup:
    """Layers that share one channel index space (see the module docstring)."""

    channels: int
    producers: tuple[str, ...]  # conv/linear whose output channels these are (weight dim 0)
    depthwise: tuple[str, ...]  # depthwise convs (multiplier 1) filtering them one by one
    norms: tuple[str, ...]  # batch norms over them
    consumers: tuple[tuple[str, int], ...]  # (conv/linear, input features per channel)
    blockers: tuple[str, ...]  # why the channels cannot be removed (empty: they can)

    @property
    def members(self) -> tuple[str, ...]:
        """Layers a policy's ``keep`` may name for this group."""
        return self.producers + self.depthwise


@dataclass(frozen=True, slots=True)
class PrunedGroup:
    """Outcome of pruning one group: which of its ``channels`` stayed (ascending indices)."""

    members: tuple[str, ...]
    channels: int
    kept: tuple[int, ...]


@dataclass
class _Space:
    channels: int
    producers: list[str] = field(default_factory=list)
    depthwise: list[str] = field(default_factory=list)
    norms: list[str] = field(default_factory=list)
    consumers: list[tuple[str, int]] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)

    def absorb(self, other: _Space) -> None:
        for name in ("producers", "depthwise", "norms", "consumers", "blockers"):
            getattr(self, name).extend(getattr(other, name))


class _Spaces:
    """Union-find over channel spaces."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.info: list[_Space] = []

    def new(self, channels: int, blocker: str | None = None) -> int:
        self.parent.append(len(self.parent))
        self.info.append(_Space(channels, blockers=[blocker] if blocker else []))
        return len(self.parent) - 1

    def find(self, s: int) -> int:
        while self.parent[s] != s:
            self.parent[s] = self.parent[self.parent[s]]
            s = self.parent[s]
        return s

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra
            self.info[ra].absorb(self.info[rb])
        return ra

    def of(self, s: int) -> _Space:
        return self.info[self.find(s)]


def _module(model: nn.Module, name: str, kinds: tuple[type[nn.Module], ...]) -> nn.Module | None:
    try:
        module = model.get_submodule(name)
    except AttributeError:
        return None
    return module if isinstance(module, kinds) else None


def _analyse(model: nn.Module, graph: Graph) -> list[ChannelGroup]:
    spaces = _Spaces()
    out: dict[str, tuple[int, int]] = {}  # op name -> (space, input features per channel)

    def block(op: Op, ins: list[tuple[int, int]]) -> str:
        reason = _REASONS.get(op.kind, f"{op.kind.value} {op.name!r}")
        for s, _ in ins:
            spaces.of(s).blockers.append(reason)
        return reason

    for op in graph.ops():
        ins = [out[p] for p in graph.inputs_of(op.name)]
        kind, channels = op.kind, op.out_channels
        if kind in (OpKind.CONV2D, OpKind.LINEAR) and _module(model, op.name, (nn.Conv2d, nn.Linear)):
            src, factor = ins[0]
            if kind is OpKind.CONV2D and factor != 1:
                block(op, ins)
            else:
                spaces.of(src).consumers.append((op.name, factor))
            out[op.name] = (spaces.new(channels), 1)
            spaces.of(out[op.name][0]).producers.append(op.name)
        elif (kind is OpKind.DEPTHWISE_CONV2D and ins[0][1] == 1 and channels == op.inputs[0].shape[1]
              and _module(model, op.name, (nn.Conv2d,))):
            spaces.of(ins[0][0]).depthwise.append(op.name)
            out[op.name] = ins[0]
        elif kind in _FOLLOWERS and ins:
            out[op.name] = ins[0]
        elif (kind is OpKind.BATCHNORM and ins[0][1] == 1
              and getattr(_module(model, op.name, (nn.BatchNorm1d, nn.BatchNorm2d)),
                          "num_features", None) == channels):
            spaces.of(ins[0][0]).norms.append(op.name)
            out[op.name] = ins[0]
        elif (kind in (OpKind.ADD, OpKind.MUL) and ins
              and all(spec.shape == op.output.shape for spec in op.inputs)
              and len({f for _, f in ins}) == 1):
            root = ins[0][0]
            for s, _ in ins[1:]:
                root = spaces.union(root, s)
            out[op.name] = (root, ins[0][1])
        elif (kind is OpKind.RESHAPE and len(op.inputs[0].shape) == 4 and len(op.output.shape) == 2
              and ins[0][1] == 1 and op.output.shape[1] == math.prod(op.inputs[0].shape[1:])):
            out[op.name] = (ins[0][0], math.prod(op.inputs[0].shape[2:]))  # flatten(1)
        else:
            out[op.name] = (spaces.new(channels, block(op, ins)), 1)
    order = {op.name: i for i, op in enumerate(graph.ops())}

    def ordered(names: list[str]) -> tuple[str, ...]:
        return tuple(sorted(names, key=order.__getitem__))

    roots = sorted({spaces.find(s) for s in range(len(spaces.parent))})
    return [
        ChannelGroup(info.channels, ordered(info.producers), ordered(info.depthwise),
                     ordered(info.norms), tuple(sorted(info.consumers, key=lambda c: order[c[0]])),
                     tuple(dict.fromkeys(info.blockers)))
        for info in (spaces.info[r] for r in roots)
        if info.producers or info.depthwise
    ]


def channel_groups(model: nn.Module, example_input: torch.Tensor) -> list[ChannelGroup]:
    """The channel groups of ``model``, from its IR graph (:func:`compiler.frontend.trace`)."""
    return _analyse(model, trace(model, example_input))


# -- physical removal ------------------------------------------------------------------------
def _take(module: nn.Module, name: str, dim: int, index: torch.Tensor, layer: str) -> None:
    """Keep ``index`` along ``dim`` of parameter/buffer ``name``, whatever stores it."""
    if parametrize.is_parametrized(module, name):
        raise PolicyError(f"cannot remove channels of layer {layer!r}: its {name} is already "
                          "fake-quantized; remove channels before quantizing")
    orig = getattr(module, f"{name}_orig", None)
    if isinstance(orig, nn.Parameter):  # torch.nn.utils.prune keeps weight_orig * weight_mask
        mask: torch.Tensor = getattr(module, f"{name}_mask")
        new_orig = nn.Parameter(orig.data.index_select(dim, index), orig.requires_grad)
        new_mask = mask.index_select(dim, index)
        module._parameters[f"{name}_orig"] = new_orig
        module._buffers[f"{name}_mask"] = new_mask
        setattr(module, name, new_orig * new_mask)  # what the pruning hook recomputes
        return
    value = getattr(module, name, None)
    if isinstance(value, nn.Parameter):
        setattr(module, name, nn.Parameter(value.data.index_select(dim, index), value.requires_grad))
    elif isinstance(value, torch.Tensor):
        module._buffers[name] = value.index_select(dim, index)


def _sub(model: nn.Module, name: str) -> Any:
    """A submodule whose attributes (sizes, tensors) this module reads and writes."""
    return model.get_submodule(name)


def _apply(model: nn.Module, group: ChannelGroup, kept: torch.Tensor) -> None:
    n = len(kept)
    for name in group.producers:
        layer = _sub(model, name)
        _take(layer, "weight", 0, kept, name)
        _take(layer, "bias", 0, kept, name)
        if isinstance(layer, nn.Conv2d):
            layer.out_channels = n
        else:
            layer.out_features = n
    for name in group.depthwise:
        conv = _sub(model, name)
        _take(conv, "weight", 0, kept, name)
        _take(conv, "bias", 0, kept, name)
        conv.in_channels = conv.out_channels = conv.groups = n
    for name in group.norms:
        norm = _sub(model, name)
        for tensor in ("weight", "bias", "running_mean", "running_var"):
            _take(norm, tensor, 0, kept, name)
        norm.num_features = n
    for name, factor in group.consumers:
        layer = _sub(model, name)
        index = (kept[:, None] * factor + torch.arange(factor)).reshape(-1)
        _take(layer, "weight", 1, index, name)
        if isinstance(layer, nn.Conv2d):
            layer.in_channels = len(index)
        else:
            layer.in_features = len(index)


def _listing(items: tuple[str, ...], limit: int = 3) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _group_importance(model: nn.Module, group: ChannelGroup, criterion: str) -> torch.Tensor:
    total = torch.zeros(group.channels)
    for name in group.members:
        score = filter_importance(_sub(model, name).weight, criterion)
        total += score / score.mean().clamp_min(1e-12)
    return total


@torch.no_grad()
def remove_channels(model: nn.Module, example_input: torch.Tensor, keep: Mapping[str, float], *,
                    criterion: str = "l1", multiple: int = 1) -> list[PrunedGroup]:
    """Remove output channels of the named layers, in place, keeping ``keep[name]`` of them.

    Layers tied to a named one (by a residual add, or a depthwise conv on its output) lose the
    same channels. When tied layers ask for different ratios, the largest wins (no layer loses
    more than it asked). Kept counts are rounded to a multiple of ``multiple``.

    >>> from collections import OrderedDict
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(OrderedDict(conv1=nn.Conv2d(1, 16, 3), bn1=nn.BatchNorm2d(16),
    ...                                   conv2=nn.Conv2d(16, 8, 3))).eval()
    >>> x = torch.randn(1, 1, 8, 8)
    >>> [len(g.kept) for g in remove_channels(model, x, {"conv1": 0.25})]   # the 4 strongest
    [4]
    >>> model.conv1.out_channels, model.bn1.num_features, model.conv2.in_channels
    (4, 4, 4)
    """
    groups = _analyse(model, trace(model, example_input))
    owner = {name: g for g in groups for name in g.members}
    requested: dict[int, list[float]] = {}
    for name, ratio in keep.items():
        if name not in owner:
            layers = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
            what = "is not a conv or linear layer of the model" if name not in layers else \
                "is not a layer whose output channels can be removed (grouped conv or unused)"
            raise PolicyError(f"policy layers.{name}.keep: {name!r} {what}{closest(name, layers)}")
        requested.setdefault(id(owner[name]), []).append(ratio)
    pruned: list[PrunedGroup] = []
    for group in groups:
        ratios = requested.get(id(group))
        if not ratios:
            continue
        asked = [n for n in group.members if n in keep]
        n = kept_channels(group.channels, max(ratios), multiple)
        if n == group.channels:
            continue
        if group.blockers:
            raise PolicyError(
                f"policy layers.{asked[0]}.keep: output channels of {asked[0]!r} cannot be "
                f"removed: they reach {_listing(group.blockers)}"
                + (f" (tied layers: {_listing(group.members)})" if len(group.members) > 1 else ""))
        if len(set(ratios)) > 1:
            log.info("tied layers %s asked keep %s; kept %d of %d channels", asked, ratios, n,
                     group.channels)
        kept = _group_importance(model, group, criterion).topk(n).indices.sort().values
        _apply(model, group, kept)
        pruned.append(PrunedGroup(group.members, group.channels, tuple(kept.tolist())))
    return pruned
