"""Local rewrites: drop ops that do no work, fold batch norm, fuse activations."""

from __future__ import annotations

from compiler.ir import COMPUTE_OPS, Graph, OpKind
from compiler.passes.manager import compiler_pass

__all__ = ["fold_batchnorm", "fuse_activations", "remove_noops"]


@compiler_pass()
def remove_noops(graph: Graph) -> Graph:
    """Ensures: no IDENTITY op (dropout, fake-quant markers) and no reshape that keeps its shape.

    Dropout is the identity at inference; a fake-quant marker's bits were read into its
    consumer's precision by the front end.
    """
    out = graph.copy()
    for op in list(out.ops()):
        same_shape = op.kind is OpKind.RESHAPE and op.inputs and op.inputs[0] == op.output
        if op.kind is OpKind.IDENTITY or same_shape:
            out.remove_op(op.name)
    return out


def _sole_producer(graph: Graph, name: str, kinds: frozenset[OpKind]) -> str | None:
    """The producer of ``name`` if it is of ``kinds`` and ``name`` is its only consumer, looking
    through reshapes that keep the batch and channel dims (the views around a 1-D conv run as
    2-D), each consumed only on the way."""
    node = name
    while True:
        producers = graph.inputs_of(node)
        if len(producers) != 1:
            return None
        (src,) = producers
        if graph.consumers(src) != [node]:
            return None
        op = graph.op(src)
        if op.kind in kinds:
            return src
        if op.kind is not OpKind.RESHAPE or op.inputs[0].shape[:2] != op.output.shape[:2]:
            return None
        node = src


_CONV_LINEAR = frozenset(COMPUTE_OPS - {OpKind.MATMUL})


@compiler_pass()
def fold_batchnorm(graph: Graph) -> Graph:
    """Requires: nothing. Ensures: no batch norm directly after a conv/linear it alone consumes.

    At inference a batch norm is a per-channel scale and shift, which folds into the
    producer's weights and bias (Jacob et al., CVPR 2018, section 3.2).
    """
    out = graph.copy()
    for op in list(out.ops()):
        if op.kind is not OpKind.BATCHNORM:
            continue
        src = _sole_producer(out, op.name, _CONV_LINEAR)
        if src is None:
            continue
        producer = out.op(src)
        out.remove_op(op.name)
        out.replace_op(producer.replace(fused=(*producer.fused, "batchnorm"), has_bias=True))
    return out


@compiler_pass()
def fuse_activations(graph: Graph) -> Graph:
    """Ensures: no activation directly after a compute op it alone consumes (it is fused).

    The array's output path applies the activation as results drain, so it costs no vector
    unit pass of its own.
    """
    out = graph.copy()
    for op in list(out.ops()):
        if op.kind is not OpKind.ACTIVATION:
            continue
        src = _sole_producer(out, op.name, frozenset(COMPUTE_OPS))
        if src is None:
            continue
        producer = out.op(src)
        out.remove_op(op.name)
        out.replace_op(producer.replace(fused=(*producer.fused, str(op.attrs["fn"]))))
    return out
