"""Design points: named accelerator parameters, a point's stable id, and point -> Arch.

A parameter is an entry in :data:`PARAMS` (variation is data): its name in sweep files, how a
YAML value is checked and made canonical, and how it is applied to a base :class:`Arch` with
``dataclasses.replace``. A numeric parameter is checked by the check of the record field it
sets (``rows`` by :attr:`hwsim.config.ArrayConfig.CHECKS`), so a sweep copies no rule of the
accelerator description; the built Arch checks itself again. A :class:`Point` is a sorted
tuple of (parameter, canonical value); its id is a hash of exactly that, so the same
parameters give the same id in every process, on every machine, in every run (resume relies
on it).

>>> from hwsim.config import load_arch
>>> p = Point.of({"array": 32, "dataflow": ["ws"], "buffer_kib": 128})
>>> p.id, p.label
('b3bd1976de43', 'array=32 buffer_kib=128 dataflow=ws')
>>> arch = to_arch(load_arch("edge_int8"), p)
>>> arch.array.rows, arch.array.dataflows, arch.buffers.weight.size_kib
(32, ('ws',), 128)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from compiler.mapping.tiling import OBJECTIVES
from hwsim.config import Arch, ArrayConfig, VectorUnitConfig
from hwsim.dataflow import DATAFLOWS
from hwsim.errors import ConfigError
from hwsim.fields import fail, shown
from hwsim.memory import BufferConfig, DramConfig
from hwsim.pe import PE_KINDS

__all__ = ["PARAMS", "Param", "Point", "Value", "locality_key", "objective_of", "to_arch"]

Value = int | float | str
"""A canonical parameter value: what is hashed, stored, and handed to optuna."""


def _dataflow(path: str, value: Any) -> str:
    """``"ws"``, ``"ws+os"`` or a list ``[ws, os]`` -> ``"ws+os"`` (order kept: the first
    is the preferred one, e.g. for the FPGA resource kernel)."""
    flows = value.split("+") if isinstance(value, str) else value
    if (not isinstance(flows, list) or not flows or len(set(flows)) != len(flows)
            or any(f not in DATAFLOWS for f in flows)):
        raise fail(path, f"a dataflow ({', '.join(DATAFLOWS)}) or a list of them", value)
    return "+".join(flows)


def _objective(path: str, value: Any) -> str:
    if value not in OBJECTIVES:
        raise fail(path, "one of " + ", ".join(OBJECTIVES), value)
    return str(value)


def _pe_expectation() -> str:
    names = []
    for name, kind in PE_KINDS.items():
        names.append(name)
        if kind.sized:
            names.append(f"{name}<bits>")
        if kind.serial_modes:
            names.append(f"{name}:<{'|'.join(kind.serial_modes)}>")
    return ", ".join(names[:-1]) + " or " + names[-1]


def _pe(path: str, value: Any) -> str:
    """A PE kind (:data:`hwsim.pe.PE_KINDS`): ``int`` (the base width) or ``int<bits>`` for a
    kind whose width is a design parameter, ``bitserial`` or ``bitserial:<mode>`` for one with
    serial modes (the first mode by default), or a kind's bare name."""
    if not isinstance(value, str):
        raise fail(path, _pe_expectation(), value)
    name, _, detail = value.partition(":")
    for kind in PE_KINDS.values():
        if kind.serial_modes and name == kind.name:
            if (detail or kind.serial_modes[0]) not in kind.serial_modes:
                raise fail(path, _pe_expectation(), value)
            return f"{name}:{detail or kind.serial_modes[0]}"
        bits = name.removeprefix(kind.name)
        if kind.sized and bits != name and bits.isdigit() and int(bits) > 0 and not detail:
            return name
    if name in PE_KINDS and not detail:
        return name
    raise fail(path, _pe_expectation(), value)


def _with_pe(arch: Arch, value: str) -> Arch:
    """``arch`` with the PE of canonical ``value`` (:func:`_pe`); a kind's own rules (a fixed
    width, an operand limit) come from its registry entry."""
    name, _, serial = value.partition(":")
    kind = next((k for k in PE_KINDS.values()
                 if name == k.name or (k.sized and name.removeprefix(k.name).isdigit())), None)
    assert kind is not None, "values are canonical (checked by _pe)"
    base = arch.array.pe
    bits = name.removeprefix(kind.name)
    width = int(bits) if bits else (base.width_bits if base.kind == kind.name else 8)
    pe = kind.configure(width_bits=width, serial=serial or None, max_bits=base.max_bits)
    return replace(arch, array=replace(arch.array, pe=pe))


def _array(**fields: Any) -> Callable[[Arch, Any], Arch]:
    def apply(arch: Arch, value: Any) -> Arch:
        return replace(arch, array=replace(arch.array, **{k: f(value) for k, f in fields.items()}))
    return apply


def _buffers(*names: str) -> Callable[[Arch, Any], Arch]:
    def apply(arch: Arch, value: Any) -> Arch:
        bufs = arch.buffers
        for name in names:
            changes: dict[str, Any] = {name: replace(bufs.get(name), size_kib=value)}
            bufs = replace(bufs, **changes)
        return replace(arch, buffers=bufs)
    return apply


@dataclass(frozen=True, slots=True)
class Param:
    """One sweepable parameter: how to check a value (``check(path, value)`` returns it
    canonical or raises naming ``path``) and how to apply it to an Arch (None: it is not
    hardware, but how the point is mapped, read by the evaluation: ``objective``)."""

    name: str
    doc: str
    check: Callable[[str, Any], Value]
    apply: Callable[[Arch, Any], Arch] | None
    sizes: bool = False  # a size: ``{min, max, log2: true}`` ranges make sense
    # False: only how fast things happen (clock, DRAM, vector lanes), not which tiles the
    # program has, so points that differ only here share their schedules (the sweep runs
    # them next to each other: :func:`locality_key`)
    shapes_tiles: bool = True


def _same(v: Any) -> Any:
    return v


_ROWS = ArrayConfig.CHECKS["rows"].test
_CLOCK = ArrayConfig.CHECKS["clock_mhz"].test
_KIB = BufferConfig.CHECKS["size_kib"].test


PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("rows", "array rows", _ROWS, _array(rows=_same), True),
    Param("cols", "array columns", ArrayConfig.CHECKS["cols"].test, _array(cols=_same), True),
    Param("array", "square array: rows = cols", _ROWS, _array(rows=_same, cols=_same), True),
    Param("pe", f"PE kind ({_pe_expectation()})", _pe, _with_pe),
    Param("dataflow", "dataflows the mapper may use (ws, os, is, or e.g. ws+os)", _dataflow,
          _array(dataflows=lambda v: tuple(v.split("+")))),
    Param("objective", f"what the mapper minimizes per layer ({', '.join(OBJECTIVES)})",
          _objective, None),
    Param("clock_mhz", "array clock (MHz)", _CLOCK, _array(clock_mhz=_same), shapes_tiles=False),
    Param("input_kib", "input buffer (KiB)", _KIB, _buffers("input"), True),
    Param("weight_kib", "weight buffer (KiB)", _KIB, _buffers("weight"), True),
    Param("output_kib", "output buffer (KiB)", _KIB, _buffers("output"), True),
    Param("buffer_kib", "input, weight and output buffers, each (KiB)", _KIB,
          _buffers("input", "weight", "output"), True),
    Param("dram_bw_gbps", "DRAM bandwidth (GB/s)", DramConfig.CHECKS["bw_gbps"].test,
          lambda a, v: replace(a, dram=replace(a.dram, bw_gbps=v)), shapes_tiles=False),
    Param("vector_lanes", "vector-unit lanes", VectorUnitConfig.CHECKS["lanes"].test,
          lambda a, v: replace(a, vector=replace(a.vector, lanes=v)), True, shapes_tiles=False),
)}


@dataclass(frozen=True, slots=True)
class Point:
    """One design point: (parameter, canonical value) pairs sorted by parameter name."""

    params: tuple[tuple[str, Value], ...]

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Point:
        """Check and canonicalize ``values`` (parameter name -> value)."""
        items = []
        for name, value in values.items():
            if name not in PARAMS:
                raise ConfigError(f"parameter must be one of {', '.join(PARAMS)}, not {shown(name)}")
            items.append((name, PARAMS[name].check(name, value)))
        return cls(tuple(sorted(items)))

    @property
    def id(self) -> str:
        """Stable 12-hex-digit hash of the parameters (independent of process and run)."""
        text = json.dumps(self.params, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.params)

    def to_dict(self) -> dict[str, Value]:
        return dict(self.params)


def locality_key(point: Point) -> tuple[tuple[bool, str, Value], ...]:
    """Sort key that puts points differing only in parameters that do not shape the tiles
    (:attr:`Param.shapes_tiles`) next to each other, so that a worker evaluating them in turn
    finds their per-layer schedules cached. Points of one sweep have the same parameters, so
    values are compared only with values of the same parameter."""
    return tuple(sorted((not PARAMS[name].shapes_tiles, name, value)
                        for name, value in point.params))


def to_arch(base: Arch, point: Point) -> Arch:
    """``base`` with the point's parameters applied (``dataclasses.replace``; frozen stays
    frozen). The name is kept, so equal hardware compares, hashes and caches equal whichever
    point it came from. Raises :class:`hwsim.errors.SystolabError` for impossible
    combinations (e.g. a PE kind with widths it cannot have)."""
    arch = base
    for name, value in point.params:
        apply = PARAMS[name].apply
        if apply is not None:
            arch = apply(arch, value)
    return arch


def objective_of(point: Point) -> str:
    """The mapping objective of ``point`` (``latency`` unless it sets one)."""
    return str(dict(point.params).get("objective", "latency"))
