"""Propagation of structured (channel) pruning through the graph.

A conv or linear whose output channels were pruned away (``Sparsity.kept_out_channels``)
produces a narrower tensor; every op downstream shrinks with it until a compute op absorbs the
change in its reduction dimension K. Some ops cannot follow a narrower input (a residual add
whose other operand keeps every channel, a permute, a matmul): then the pruned producer keeps
its full output width (its removed filters are still not computed, see
:func:`compiler.passes.lower.gemm_of`) and the graph records a note saying so.
"""

from __future__ import annotations

import math
from typing import Any

from compiler.ir import CONV_OPS, Graph, Op, OpKind, TensorSpec
from compiler.passes.manager import compiler_pass

__all__ = ["propagate_channel_pruning"]

# Ops whose output keeps the input's channel dim and may simply follow it.
_FOLLOWERS = frozenset(
    {OpKind.ACTIVATION, OpKind.BATCHNORM, OpKind.LAYERNORM, OpKind.MAXPOOL2D, OpKind.AVGPOOL2D,
     OpKind.UPSAMPLE, OpKind.IDENTITY, OpKind.OUTPUT}
)


class _Blocked(Exception):
    def __init__(self, origins: frozenset[str], where: str) -> None:
        super().__init__(where)
        self.origins, self.where = origins, where


def _channel_dim(shape: tuple[int, ...]) -> int:
    return 1 if len(shape) == 4 else len(shape) - 1


def _with_channels(shape: tuple[int, ...], channels: int) -> tuple[int, ...]:
    dim = _channel_dim(shape)
    return (*shape[:dim], channels, *shape[dim + 1:])


def _pruned_width(op: Op) -> int | None:
    kept = op.sparsity.kept_out_channels
    if op.kind not in CONV_OPS and op.kind is not OpKind.LINEAR:
        return None
    return kept if kept is not None and kept < op.out_channels else None


def _plan(graph: Graph, frozen: set[str]) -> dict[str, Op]:
    """New payloads for every op that changes; raises _Blocked naming the pruned origins."""
    shapes: dict[str, tuple[int, ...]] = {}  # op name -> new output shape (changed ones only)
    origins: dict[str, frozenset[str]] = {}
    new_ops: dict[str, Op] = {}
    for op in graph.ops():
        producers = graph.inputs_of(op.name)
        new_inputs = [shapes.get(p, op.inputs[i].shape) for i, p in enumerate(producers)]
        changed = [i for i, p in enumerate(producers) if p in shapes]
        from_pruned = frozenset().union(*(origins[producers[i]] for i in changed)) if changed \
            else frozenset()
        changes: dict[str, Any] = {}
        out_shape = op.output.shape
        if changed:
            cin = new_inputs[0][_channel_dim(new_inputs[0])] if new_inputs else 0
            if op.kind is OpKind.CONV2D or op.kind is OpKind.LINEAR:
                assert op.weight is not None
                w = op.weight.shape
                changes["weight"] = TensorSpec((w[0], new_inputs[0][-1] if op.kind is OpKind.LINEAR
                                                else cin, *w[2:]), op.weight.dtype)
                # The narrower input ends here, in this op's K: its output width is its own
                # business, so a block further down must not undo the upstream pruning.
                from_pruned = frozenset()
            elif op.kind is OpKind.DEPTHWISE_CONV2D:
                assert op.weight is not None
                multiplier = op.out_channels // int(op.attrs["groups"])
                changes["weight"] = TensorSpec((cin * multiplier, *op.weight.shape[1:]))
                changes["attrs"] = {**op.attrs, "groups": cin}
                out_shape = _with_channels(out_shape, cin * multiplier)
            elif op.kind in _FOLLOWERS:
                out_shape = _with_channels(out_shape, cin)
                if op.kind in (OpKind.BATCHNORM, OpKind.LAYERNORM):
                    changes["attrs"] = {**op.attrs, "num_features": cin}
            elif op.kind in (OpKind.ADD, OpKind.MUL):
                if len({s for s in new_inputs if len(s) == len(out_shape)}) != 1:
                    raise _Blocked(from_pruned, f"{op.kind.value} {op.name!r}")
                out_shape = _with_channels(out_shape, cin)
            elif op.kind is OpKind.CONCAT and op.attrs.get("dim") in (1, 1 - len(out_shape)) \
                    and len(out_shape) == 4:
                out_shape = _with_channels(out_shape, sum(s[1] for s in new_inputs))
            elif op.kind is OpKind.RESHAPE and len(new_inputs[0]) == 4 and len(out_shape) == 2 \
                    and out_shape[1] == math.prod(op.inputs[0].shape[1:]):
                out_shape = (out_shape[0], math.prod(new_inputs[0][1:]))  # flatten(1)
            else:
                raise _Blocked(from_pruned, f"{op.kind.value} {op.name!r}")
            changes["inputs"] = tuple(TensorSpec(s, op.inputs[i].dtype)
                                      for i, s in enumerate(new_inputs))
        width = _pruned_width(op)
        if width is not None and op.name not in frozen:
            assert op.weight is not None
            out_shape = _with_channels(out_shape, width)
            w = changes.get("weight", op.weight)
            changes["weight"] = TensorSpec((width, *w.shape[1:]), w.dtype)
            changes["attrs"] = {**changes.get("attrs", op.attrs), "dense_out_channels": op.out_channels}
            from_pruned = from_pruned | {op.name}
        if out_shape != op.output.shape:
            changes["output"] = TensorSpec(out_shape, op.output.dtype)
            shapes[op.name], origins[op.name] = out_shape, from_pruned
        if changes:
            new_ops[op.name] = op.replace(**changes)
    return new_ops


@compiler_pass()
def propagate_channel_pruning(graph: Graph) -> Graph:
    """Ensures: tensors after channel-pruned convs/linears are narrowed and consumers' K shrinks,
    wherever every op on the way can follow; elsewhere the producer keeps its full width."""
    frozen: set[str] = set()
    while True:
        try:
            new_ops = _plan(graph, frozen)
            break
        except _Blocked as blocked:
            assert blocked.origins - frozen, "a blocked change must come from a new pruned op"
            frozen |= blocked.origins
            graph_note = (f"channel pruning of {', '.join(sorted(blocked.origins))} not propagated "
                          f"past {blocked.where}: output kept at full width")
            graph = graph.copy()
            graph.notes.append(graph_note)
    out = graph.copy()
    for op in new_ops.values():
        out.replace_op(op)
    return out
