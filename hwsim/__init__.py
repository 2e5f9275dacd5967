"""hwsim: the accelerator half of systolab (no torch, no compiler IR).

Inputs are an :class:`~hwsim.config.Arch` (from YAML) and a :class:`~hwsim.isa.Program`;
outputs are :class:`~hwsim.stats.RunStats`.

>>> import hwsim
>>> arch = hwsim.load_arch("edge_int8")
>>> body = (hwsim.Load("weight", 16 * 16 * 8), hwsim.Load("input", 256 * 16 * 8),
...         hwsim.Compute("ws", 256, 16, 16, deps=(0, 1)),
...         hwsim.Store(256 * 16 * 8, every=32, deps=(2,)))   # 32 k steps per output tile
>>> prog = hwsim.Program("mlp", (hwsim.Layer("fc1", (hwsim.Run(body, count=16 * 32),)),))
>>> stats = hwsim.simulate(prog, arch)
>>> stats.total.macs == 256 * 512 * 256
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hwsim.config import (
        Arch,
        ArrayConfig,
        FpgaBoard,
        VectorUnitConfig,
        arch_from_dict,
        load_arch,
        shipped_configs,
    )
    from hwsim.energy import ActionCounts, EnergyBreakdown, energy_of
    from hwsim.engine import simulate, simulate_layer
    from hwsim.errors import ConfigError, ProgramError, SystolabError
    from hwsim.isa import Compute, Layer, Load, Program, Run, Store, Vector
    from hwsim.memory import BufferConfig, Buffers, DramChannel, DramConfig
    from hwsim.pe import PE_KINDS, PeConfig
    from hwsim.reference import RefResult, bitfusion_dot, bitserial_dot, os_array, ws_array
    from hwsim.resources import ResourceReport, Resources, fpga_resources, load_pe_resources
    from hwsim.stats import LayerStats, RunStats, TraceEvent
    from hwsim.tables import EnergyTable, load_energy_table
    from hwsim.timing import TileTiming, tile_cycles, tile_timing

# name -> module: importing hwsim (or hwsim.errors) stays cheap; a name loads its module on
# first use (PEP 562), so the command line starts without numpy's and the engine's imports.
_WHERE = {
    "Arch": "hwsim.config",
    "ArrayConfig": "hwsim.config",
    "FpgaBoard": "hwsim.config",
    "VectorUnitConfig": "hwsim.config",
    "arch_from_dict": "hwsim.config",
    "load_arch": "hwsim.config",
    "shipped_configs": "hwsim.config",
    "ActionCounts": "hwsim.energy",
    "EnergyBreakdown": "hwsim.energy",
    "energy_of": "hwsim.energy",
    "simulate": "hwsim.engine",
    "simulate_layer": "hwsim.engine",
    "ConfigError": "hwsim.errors",
    "ProgramError": "hwsim.errors",
    "SystolabError": "hwsim.errors",
    "Compute": "hwsim.isa",
    "Layer": "hwsim.isa",
    "Load": "hwsim.isa",
    "Program": "hwsim.isa",
    "Run": "hwsim.isa",
    "Store": "hwsim.isa",
    "Vector": "hwsim.isa",
    "BufferConfig": "hwsim.memory",
    "Buffers": "hwsim.memory",
    "DramChannel": "hwsim.memory",
    "DramConfig": "hwsim.memory",
    "PE_KINDS": "hwsim.pe",
    "PeConfig": "hwsim.pe",
    "RefResult": "hwsim.reference",
    "bitfusion_dot": "hwsim.reference",
    "bitserial_dot": "hwsim.reference",
    "os_array": "hwsim.reference",
    "ws_array": "hwsim.reference",
    "ResourceReport": "hwsim.resources",
    "Resources": "hwsim.resources",
    "fpga_resources": "hwsim.resources",
    "load_pe_resources": "hwsim.resources",
    "LayerStats": "hwsim.stats",
    "RunStats": "hwsim.stats",
    "TraceEvent": "hwsim.stats",
    "EnergyTable": "hwsim.tables",
    "load_energy_table": "hwsim.tables",
    "TileTiming": "hwsim.timing",
    "tile_cycles": "hwsim.timing",
    "tile_timing": "hwsim.timing",
}

__all__ = [
    "PE_KINDS",
    "ActionCounts",
    "Arch",
    "ArrayConfig",
    "BufferConfig",
    "Buffers",
    "Compute",
    "ConfigError",
    "DramChannel",
    "DramConfig",
    "EnergyBreakdown",
    "EnergyTable",
    "FpgaBoard",
    "Layer",
    "LayerStats",
    "Load",
    "PeConfig",
    "Program",
    "ProgramError",
    "RefResult",
    "ResourceReport",
    "Resources",
    "Run",
    "RunStats",
    "Store",
    "SystolabError",
    "TileTiming",
    "TraceEvent",
    "Vector",
    "VectorUnitConfig",
    "arch_from_dict",
    "bitfusion_dot",
    "bitserial_dot",
    "energy_of",
    "fpga_resources",
    "load_arch",
    "load_energy_table",
    "load_pe_resources",
    "os_array",
    "shipped_configs",
    "simulate",
    "simulate_layer",
    "tile_cycles",
    "tile_timing",
    "ws_array",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'hwsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
