"""hwsim.pe and hwsim.timing: the registry's numbers and the closed forms of docs/timing.md."""

from __future__ import annotations

import pytest

from hwsim.config import ArrayConfig, load_arch
from hwsim.errors import ConfigError, ProgramError
from hwsim.pe import PeConfig, bitfusion_bits
from hwsim.timing import tile_cycles, tile_timing


def arr(R: int, C: int, pe: PeConfig) -> ArrayConfig:
    return ArrayConfig(R, C, ("ws", "os", "is"), pe, 100.0)


def test_stream_factors():
    assert PeConfig("int").stream_factor(4, 4) == 1
    assert PeConfig("int").stream_factor(16, 8) == 2
    assert PeConfig("int").stream_factor(16, 16) == 4
    assert PeConfig("bitserial", serial="activations").stream_factor(8, 5) == 5
    assert PeConfig("bitserial", serial="both").stream_factor(3, 5) == 15
    assert PeConfig("bitfusion").stream_factor(16, 16) == 4
    assert PeConfig("bitfusion").stream_factor(16, 8) == 2


def test_bitfusion_packing_matches_design():
    pe = PeConfig("bitfusion")
    # DESIGN.md: MACs per PE per cycle = (8 / max(2, w')) x (8 / max(2, a')), bits -> 2, 4, 8.
    for w in range(1, 9):
        for a in range(1, 9):
            assert pe.k_pack(w, a) == (8 // bitfusion_bits(w)) * (8 // bitfusion_bits(a))
    assert pe.macs_per_cycle(1, 1) == 16
    assert pe.macs_per_cycle(16, 16) == 0.25


def test_bits_are_checked():
    with pytest.raises(ProgramError, match=r"w_bits must be an integer in 1\.\.16 for this int PE, not 17"):
        PeConfig("int").stream_factor(17, 8)
    with pytest.raises(ConfigError, match=r"array\.pe\.serial is required \(one of 'activations', "
                                          r"'both'\)"):
        PeConfig("bitserial")


def test_ws_closed_form_values():
    a = arr(4, 3, PeConfig("int"))
    # R + (T-1)*max(M,R) + M + R + C - 2
    assert tile_cycles(a, "ws", m=10, k=4, n=3, count=1) == 4 + 10 + 4 + 3 - 2
    assert tile_cycles(a, "ws", m=10, k=4, n=3, count=5) == 4 + 4 * 10 + 10 + 4 + 3 - 2
    assert tile_cycles(a, "ws", m=2, k=4, n=3, count=5) == 4 + 4 * 4 + 2 + 4 + 3 - 2
    # T = 1 equals SCALE-Sim's WS fold 2R + C + M - 2.
    assert tile_cycles(a, "ws", m=10, k=1, n=1) == 2 * 4 + 3 + 10 - 2


def test_os_and_is_closed_form_values():
    a = arr(4, 3, PeConfig("int"))
    assert tile_cycles(a, "os", m=4, k=7, n=3, count=1) == 7 + 4 + 3 - 2
    assert tile_cycles(a, "os", m=4, k=7, n=3, count=3) == 2 * 7 + 7 + 4 + 3 - 2
    assert tile_cycles(a, "os", m=4, k=2, n=3, count=3) == 2 * 4 + 2 + 4 + 3 - 2
    # IS streams the N weight columns through stationary inputs.
    assert tile_cycles(a, "is", m=3, k=4, n=9) == 2 * 4 + 3 + 9 - 2


def test_scalesim_mode_serializes_folds():
    a = arr(8, 8, PeConfig("int"))
    assert tile_cycles(a, "ws", m=20, k=8, n=8, count=4, mode="scalesim") == 4 * (16 + 8 + 20 - 2)
    assert tile_cycles(a, "os", m=8, k=20, n=8, count=4, mode="scalesim") == 4 * (20 + 8 + 8 - 2)
    assert tile_cycles(a, "is", m=8, k=8, n=20, count=4, mode="scalesim") == 4 * (16 + 8 + 20 - 2)
    for df in ("ws", "os", "is"):
        native = tile_cycles(a, df, m=8, k=8, n=8, count=4)
        assert native <= tile_cycles(a, df, m=8, k=8, n=8, count=4, mode="scalesim")


def test_precision_scalable_streaming():
    stripes = arr(4, 4, PeConfig("bitserial", serial="activations"))
    assert tile_cycles(stripes, "ws", m=5, k=4, n=4, a_bits=3) == 2 * 4 + 4 + 3 * 5 - 2
    loom = arr(4, 4, PeConfig("bitserial", serial="both"))
    assert tile_cycles(loom, "os", m=4, k=5, n=4, w_bits=2, a_bits=3) == 6 * 5 + 4 + 4 - 2
    bf = arr(4, 4, PeConfig("bitfusion"))
    # a PE row of a WS tile holds f = 16 consecutive k at 2x2 bits
    assert tile_timing(bf, "ws", m=5, k=64, n=4, w_bits=2, a_bits=2).first == 2 * 4 + 4 + 5 - 2
    assert tile_cycles(bf, "os", m=4, k=64, n=4, w_bits=2, a_bits=2) == 4 + 4 + 4 - 2
    # 16x16 takes 4x the streaming of 8x8
    assert tile_cycles(bf, "ws", m=5, k=4, n=4, w_bits=16, a_bits=16) == 2 * 4 + 4 + 20 - 2


def test_tile_must_fit():
    a = arr(4, 3, PeConfig("int"))
    with pytest.raises(ProgramError, match=r"WS tile k must be at most 4 on a 4x3 int array at w8a8, not 5"):
        tile_cycles(a, "ws", m=1, k=5, n=1)
    with pytest.raises(ProgramError, match=r"OS tile n must be at most 3"):
        tile_cycles(a, "os", m=1, k=5, n=4)
    with pytest.raises(ProgramError, match=r"dataflow must be one of"):
        tile_cycles(a, "rs", m=1, k=1, n=1)
    with pytest.raises(ProgramError, match=r"count must be a positive integer, not 0"):
        tile_cycles(a, "ws", m=1, k=1, n=1, count=0)


def test_accepts_arch():
    arch = load_arch("edge_int8")
    assert tile_cycles(arch, "ws", 64, 16, 16) == tile_cycles(arch.array, "ws", 64, 16, 16)
