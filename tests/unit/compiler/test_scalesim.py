"""SCALE-Sim inputs: config and topology files, their errors, and SCALE-Sim's fold times."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from compiler.frontend.scalesim import ScaleSimError, load_scalesim_arch, load_scalesim_topology
from compiler.ir import Gemm
from compiler.mapping import map_model
from hwsim import simulate
from hwsim.timing import tile_cycles

DATA = Path(__file__).parent / "data"


def test_config_becomes_an_arch() -> None:
    arch = load_scalesim_arch(DATA / "scalesim_ws32.cfg")
    assert (arch.name, arch.array.rows, arch.array.cols) == ("ws32_demo", 32, 32)
    assert arch.array.dataflows == ("ws",)
    assert arch.buffers.weight.size_kib == 64
    assert arch.dram.bw_gbps == pytest.approx(10.0)  # 10 words/cycle at the assumed 1 GHz


def test_conv_rows_with_trailing_commas() -> None:
    g = load_scalesim_topology(DATA / "scalesim_conv.csv")
    assert g.record("Conv1", Gemm) == Gemm(M=112 * 112, N=64, K=7 * 7 * 3)
    assert g.record("Conv2", Gemm) == Gemm(M=56 * 56, N=64, K=9 * 64)
    assert g.record("FC", Gemm) == Gemm(M=1, N=1000, K=512)


def test_gemm_rows() -> None:
    g = load_scalesim_topology(DATA / "scalesim_gemm.csv")
    assert g.record("mlp", Gemm) == Gemm(M=197, N=768, K=192)


def test_scalesim_mode_compute_equals_scalesim_folds() -> None:
    """SCALE-Sim's WS fold takes 2R + C + T - 2 cycles for T = M streamed rows; its folds are
    ceil(K / R) x ceil(N / C) and serialized. The array's busy time must be exactly that."""
    arch = load_scalesim_arch(DATA / "scalesim_ws32.cfg")
    graph = load_scalesim_topology(DATA / "scalesim_conv.csv")
    stats = simulate(map_model(graph, arch, mode="scalesim").program, arch, mode="scalesim")
    R = C = 32
    for layer in stats.layers:
        g = graph.record(layer.name, Gemm)
        folds = math.ceil(g.K / R) * math.ceil(g.N / C)
        assert layer.busy_cycles == folds * (2 * R + C + g.M - 2)
        assert layer.busy_cycles == tile_cycles(arch, "ws", g.M, min(g.K, R), min(g.N, C),
                                                count=folds, mode="scalesim")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Layer, M, N, K,\nx, 1, 2,\n", r"line 2: layer 'x' must have 7 fields .* or 3 .*not 2"),
        ("Layer, M, N, K,\nx, 1, two, 3,\n", r"line 2: layer 'x': every field after the name "
                                              r"must be an integer"),
        ("Layer, M, N, K,\n", r"a topology needs a header row and at least one layer"),
        ("h\nc, 3, 3, 5, 5, 1, 1, 1,\n", r"filter 5x5 must fit the 3x3 input"),
    ],
)
def test_bad_topology_names_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(ScaleSimError, match=message):
        load_scalesim_topology(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("Dataflow : ws", "Dataflow : rs"), r"Dataflow must be one of ws, os, is, not 'rs'"),
        (("ArrayHeight:    32", "ArrayHeight:    -3"), r"ArrayHeight must be a positive integer"),
        (("IfmapSramSzkB:    64\n", ""), r"IfmapSramSzkB is missing"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = tmp_path / "x.cfg"
    path.write_text((DATA / "scalesim_ws32.cfg").read_text().replace(*edit))
    with pytest.raises(ScaleSimError, match=message):
        load_scalesim_arch(path)


def test_missing_config_file() -> None:
    with pytest.raises(ScaleSimError, match=r"cannot read SCALE-Sim config .nope.cfg.: No such file"):
        load_scalesim_arch("nope.cfg")


@pytest.mark.parametrize("content, message", [
    (b"\xff\xfe\x00garbage", r"must be UTF-8 text, but byte 0 cannot be decoded"),
    (b"x" * (16 * 2**20 + 1), r"must be at most 16 MiB of CSV"),
])
def test_a_topology_that_is_not_text_or_never_ends_is_one_message(
        tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "topology.csv"
    path.write_bytes(content)
    with pytest.raises(ScaleSimError, match=message):
        load_scalesim_topology(path)


@pytest.mark.parametrize("key, value, message", [
    ("ArrayHeight", "99999999999999999999", "ArrayHeight must be a positive integer at most 4,096"),
    ("ArrayWidth", "abc", "ArrayWidth must be a positive integer at most 4,096, not 'abc'"),
    ("IfmapSramSzkB", "0", "IfmapSramSzkB must be a positive integer, not 0"),
    ("FilterSramSzkB", "2000000", "FilterSramSzkB must be a positive integer at most 1,048,576"),
    ("Bandwidth", "nan", "Bandwidth must be a positive integer at most 1,000,000, not 'nan'"),
])
def test_a_cfg_value_is_checked_as_the_field_it_becomes_and_named_by_its_key(
        tmp_path: Path, key: str, value: str, message: str) -> None:
    import configparser

    parser = configparser.ConfigParser()
    parser.read(Path(__file__).parent / "data" / "scalesim_ws32.cfg")
    parser["architecture_presets"][key] = value
    path = tmp_path / "bad.cfg"
    with path.open("w") as fh:
        parser.write(fh)
    with pytest.raises(ScaleSimError, match=rf"\[architecture_presets\] {message}"):
        load_scalesim_arch(path)
