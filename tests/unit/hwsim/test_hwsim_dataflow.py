"""hwsim.dataflow: each dataflow is one record, and everything dataflow-specific reads it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hwsim.dataflow import DATAFLOWS, IS, OS, TENSOR_DIMS, WS, Dataflow, get_dataflow
from hwsim.errors import ProgramError

ROOT = Path(__file__).resolve().parents[3]


def test_the_records_say_which_tensor_stays_and_what_streams() -> None:
    assert (WS.stationary, WS.streamed) == ("weight", "m")
    assert (IS.stationary, IS.streamed) == ("input", "n")
    assert (OS.stationary, OS.streamed) == ("output", "k")
    for df in DATAFLOWS.values():
        assert set(TENSOR_DIMS[df.stationary]) == {df.rows, df.cols}
        assert df.psum_readback is not df.holds_outputs


@pytest.mark.parametrize(("df", "caps"), [(WS, (0, 24, 4)), (IS, (4, 24, 0)), (OS, (8, 0, 4))])
def test_array_caps_follow_the_spatial_mapping(df: Dataflow, caps: tuple[int, int, int]) -> None:
    # an 8 x 4 array whose PEs fuse 3 products of consecutive k per cycle
    assert df.caps(rows=8, cols=4, k_pack=3) == caps


@pytest.mark.parametrize(("df", "fold"), [
    (WS, lambda R, C, s: 2 * R + C + s - 2),   # SCALE-Sim, WS: 2R + C + M - 2
    (IS, lambda R, C, s: 2 * R + C + s - 2),   # IS: 2R + C + N - 2
    (OS, lambda R, C, s: s + R + C - 2),       # OS: K + R + C - 2
])
def test_one_tile_takes_scalesims_fold_time_and_scalesim_mode_serializes_folds(df, fold) -> None:
    for R, C, s in [(1, 1, 1), (16, 16, 64), (32, 8, 3), (4, 128, 500)]:
        assert df.first(R, C, s) == fold(R, C, s)
        assert df.period(R, C, s, "scalesim") == fold(R, C, s)
        assert df.period(R, C, s, "native") <= df.first(R, C, s)


def test_native_periods_overlap_what_the_array_allows() -> None:
    assert WS.period(16, 8, 5, "native") == 16          # the next weight preload (R cycles)
    assert WS.period(16, 8, 50, "native") == 50
    assert OS.period(8, 16, 5, "native") == 16          # the result register of column 0
    assert OS.period(16, 8, 5, "native") == 16          # R result rows on the output port


def test_partial_sums_are_read_back_only_when_the_reduction_is_spatial() -> None:
    reads, writes = WS.sram_bits(4, 3, 2, w_bits=8, a_bits=6, acc_bits=32)
    assert dict(reads) == {"input": 4 * 3 * 6, "weight": 3 * 2 * 8, "output": 4 * 2 * 32}
    assert dict(writes) == {"output": 4 * 2 * 32}
    reads, _ = OS.sram_bits(4, 3, 2, w_bits=8, a_bits=6, acc_bits=32)
    assert "output" not in dict(reads)


def test_unknown_dataflows_and_malformed_records_are_refused() -> None:
    with pytest.raises(ProgramError, match=r"dataflow must be one of \('ws', 'os', 'is'\), "
                                           r"not 'rs'"):
        get_dataflow("rs")
    with pytest.raises(ProgramError, match="rows, cols and streamed must be m, k and n"):
        Dataflow("xx", "broken", rows="k", cols="k", streamed="m", fpga_kernel="ws_pe")


def _name_comparisons(path: Path) -> list[str]:
    """Places where code compares a value with a dataflow's name or keys a dict by one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        consts = []
        if isinstance(node, ast.Compare):
            consts = [node.left, *node.comparators]
        elif isinstance(node, ast.Dict):
            consts = [k for k in node.keys if k is not None]
        for c in consts:
            if isinstance(c, ast.Constant) and c.value in DATAFLOWS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_module_outside_the_records_asks_which_dataflow_it_is() -> None:
    sources = [p for pkg in ("hwsim", "compiler", "systolab") for p in (ROOT / pkg).rglob("*.py")]
    offenders = [hit for p in sources if p.name != "dataflow.py" for hit in _name_comparisons(p)]
    assert offenders == []
