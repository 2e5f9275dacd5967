"""IR records, Graph methods and verify()."""

from __future__ import annotations

import pytest

from compiler.errors import IRError
from compiler.ir import (
    COMPUTE_OPS,
    LAYOUT_OPS,
    VECTOR_OPS,
    Gemm,
    Graph,
    Op,
    OpKind,
    Precision,
    Sparsity,
    TensorSpec,
    verify,
)


def _chain() -> Graph:
    g = Graph()
    g.add_op(Op("x", OpKind.INPUT, (), TensorSpec((1, 16))))
    g.add_op(Op("fc", OpKind.LINEAR, (TensorSpec((1, 16)),), TensorSpec((1, 4)),
                weight=TensorSpec((4, 16)), has_bias=True), inputs=["x"])
    g.add_op(Op("act", OpKind.ACTIVATION, (TensorSpec((1, 4)),), TensorSpec((1, 4)),
                attrs={"fn": "relu"}), inputs=["fc"])
    return g


def test_families_partition_the_vocabulary() -> None:
    assert frozenset(OpKind) == COMPUTE_OPS | VECTOR_OPS | LAYOUT_OPS
    assert not (COMPUTE_OPS & VECTOR_OPS or COMPUTE_OPS & LAYOUT_OPS or VECTOR_OPS & LAYOUT_OPS)


@pytest.mark.parametrize("bits", [0, 17, -4, 2.5, True])
def test_precision_rejects_bits_out_of_range(bits: object) -> None:
    with pytest.raises(IRError, match=r"w_bits must be an integer from 1 to 16, not"):
        Precision(w_bits=bits)  # type: ignore[arg-type]


def test_sparsity_validates_fields() -> None:
    with pytest.raises(IRError, match=r"density must be in \(0, 1\], not 0"):
        Sparsity(density=0)
    with pytest.raises(IRError, match="pattern must be"):
        Sparsity(pattern="diagonal")


def test_op_params_and_attrs_are_frozen() -> None:
    g = _chain()
    fc = g.op("fc")
    assert fc.params == 4 * 16 + 4
    with pytest.raises(TypeError):
        fc.attrs["x"] = 1  # type: ignore[index]


def test_gemm_macs() -> None:
    assert Gemm(M=3, N=4, K=5, groups=2).macs == 120


def test_records_are_typed_and_follow_removal() -> None:
    g = _chain()
    g.set_record("fc", Gemm(1, 4, 16))
    assert g.record("fc", Gemm) == Gemm(1, 4, 16)
    with pytest.raises(IRError, match="has no Gemm record"):
        g.record("act", Gemm)


def test_remove_op_reconnects_consumers() -> None:
    g = _chain()
    g.add_op(Op("out", OpKind.OUTPUT, (TensorSpec((1, 4)),), TensorSpec((1, 4))), inputs=["act"])
    g.remove_op("act")
    assert g.inputs_of("out") == ["fc"]
    verify(g)


def test_duplicate_and_dangling_names_are_errors() -> None:
    g = _chain()
    with pytest.raises(IRError, match="op name must be unique, not 'fc'"):
        g.add_op(Op("fc", OpKind.INPUT, (), TensorSpec((1,))))
    with pytest.raises(IRError, match="input 'nope' of op 'y' must be added before it"):
        g.add_op(Op("y", OpKind.ADD, (TensorSpec((1,)),), TensorSpec((1,))), inputs=["nope"])


def test_verify_catches_shape_mismatch_along_an_edge() -> None:
    g = _chain()
    g.replace_op(g.op("act").replace(inputs=(TensorSpec((1, 5)),)))
    with pytest.raises(IRError, match=r"op 'act' input 0 must have shape \(1, 5\) \(from 'fc'\), "
                                      r"not \(1, 4\)"):
        verify(g)


def test_verify_lowered_requires_gemm_views() -> None:
    g = _chain()
    verify(g)
    with pytest.raises(IRError, match="compute op 'fc' must have a GEMM view after lowering"):
        verify(g, lowered=True)
    g.set_record("fc", Gemm(1, 4, 16))
    verify(g, lowered=True)


def test_verify_checks_kept_channels() -> None:
    g = _chain()
    g.replace_op(g.op("fc").replace(sparsity=Sparsity(0.5, kept_out_channels=9, pattern="channel")))
    with pytest.raises(IRError, match="kept_out_channels must be at most 4, not 9"):
        verify(g)
