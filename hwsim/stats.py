"""Typed results of a simulation: :class:`LayerStats` per layer, :class:`RunStats` for a run.

Stats add up: ``sum(run.layers) == run.total`` field by field. Time accounting follows one
identity, per layer and in total::

    cycles == busy_cycles + sum(stall_cycles.values())

``busy_cycles`` is the time the array or the vector unit is working; each stall is a gap in
which neither works, attributed to what the next instruction waited for: ``input_load`` /
``weight_load`` / ``output_load`` (its operands' DMA), ``dram_bw`` (the part of that wait in
which the load was queued behind other transfers on the DRAM channel), ``store`` (its output
slot was still being written back), ``dependency`` (another compute or vector op), and
``drain`` (after the last compute: pipeline drain and the final stores).

Bounds, each a time the layer cannot beat, from its program alone:

- ``compute_bound_cycles``: the sum over tiles of MACs / peak MACs per cycle at the tile's bits;
- ``array_bound_cycles``: the sum over tiles of their issue periods, the array's time for this
  spatial mapping (PEs a tile leaves idle count, so it is at least the compute bound);
- ``memory_bound_cycles``: DRAM bits / DRAM bits per cycle;
- ``vector_bound_cycles``: the vector unit's cycles for the layer's vector ops.

``roofline_cycles`` is the largest of the compute, memory and vector bounds;
``utilization = compute_bound_cycles / cycles``. A layer's :attr:`LayerStats.bound` names what
limits it: ``memory`` or ``vector`` when that bound is the largest, else the array: ``compute``
when its tiles keep at least half the PEs busy (``compute_bound >= array_bound / 2``), else
``array``: the array is under-used by this layer's shape, and a different mapping or array
shape, not more PEs or bandwidth, would speed it up.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hwsim.energy import ActionCounts, EnergyBreakdown
from hwsim.outfiles import write_text

__all__ = ["LayerStats", "RunStats", "TraceEvent"]


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One slice of the tile timeline (cycles from the start of the run)."""

    track: str
    name: str
    start: int
    duration: int
    layer: str = ""


@dataclass(frozen=True, slots=True)
class LayerStats:
    name: str
    cycles: int
    seconds: float
    busy_cycles: int
    stall_cycles: tuple[tuple[str, int], ...]
    compute_bound_cycles: float
    memory_bound_cycles: float
    array_bound_cycles: int
    vector_bound_cycles: int
    macs: int
    tiles: int
    dram_read_bits: int
    dram_write_bits: int
    counts: ActionCounts = field(repr=False)
    energy: EnergyBreakdown

    @property
    def roofline_cycles(self) -> float:
        return max(self.compute_bound_cycles, self.memory_bound_cycles, self.vector_bound_cycles)

    @property
    def bound(self) -> str:
        """What limits the layer: ``compute``, ``array``, ``memory`` or ``vector`` (module doc)."""
        array = max(self.array_bound_cycles, self.compute_bound_cycles)
        worst = max(array, self.memory_bound_cycles, self.vector_bound_cycles)
        if worst == 0 or worst == array:
            return "compute" if 2 * self.compute_bound_cycles >= array else "array"
        return "memory" if worst == self.memory_bound_cycles else "vector"

    @property
    def utilization(self) -> float:
        return self.compute_bound_cycles / self.cycles if self.cycles else 0.0

    @property
    def stalls(self) -> dict[str, int]:
        return dict(self.stall_cycles)

    @property
    def sram_read_bits(self) -> int:
        return sum(n for _, n in self.counts.sram_read_bits)

    @property
    def sram_write_bits(self) -> int:
        return sum(n for _, n in self.counts.sram_write_bits)

    @property
    def energy_pj(self) -> float:
        return self.energy.total_pj

    def renamed(self, name: str) -> LayerStats:
        return replace(self, name=name)

    def __add__(self, other: LayerStats) -> LayerStats:
        stalls = dict(self.stall_cycles)
        for cause, n in other.stall_cycles:
            stalls[cause] = stalls.get(cause, 0) + n
        return LayerStats(
            name="total",
            cycles=self.cycles + other.cycles,
            seconds=self.seconds + other.seconds,
            busy_cycles=self.busy_cycles + other.busy_cycles,
            stall_cycles=tuple(sorted(stalls.items())),
            compute_bound_cycles=self.compute_bound_cycles + other.compute_bound_cycles,
            memory_bound_cycles=self.memory_bound_cycles + other.memory_bound_cycles,
            array_bound_cycles=self.array_bound_cycles + other.array_bound_cycles,
            vector_bound_cycles=self.vector_bound_cycles + other.vector_bound_cycles,
            macs=self.macs + other.macs,
            tiles=self.tiles + other.tiles,
            dram_read_bits=self.dram_read_bits + other.dram_read_bits,
            dram_write_bits=self.dram_write_bits + other.dram_write_bits,
            counts=self.counts + other.counts,
            energy=self.energy + other.energy,
        )

    def to_dict(self) -> dict[str, Any]:
        """Flat-ish JSON-ready record (derived values included)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in
             ("counts", "energy", "stall_cycles")}
        d["stall_cycles"] = dict(self.stall_cycles)
        d["roofline_cycles"] = self.roofline_cycles
        d["utilization"] = self.utilization
        d["bound"] = self.bound
        d["sram_read_bits"] = dict(self.counts.sram_read_bits)
        d["sram_write_bits"] = dict(self.counts.sram_write_bits)
        d["vector_ops"] = self.counts.vector_ops
        d["energy_pj"] = {**asdict(self.energy), "total_pj": self.energy.total_pj}
        return d

    def csv_row(self, causes: list[str]) -> dict[str, Any]:
        row: dict[str, Any] = {
            "layer": self.name, "cycles": self.cycles, "seconds": self.seconds,
            "busy_cycles": self.busy_cycles, "roofline_cycles": self.roofline_cycles,
            "bound": self.bound,
            "utilization": self.utilization, "macs": self.macs, "tiles": self.tiles,
            "dram_read_bits": self.dram_read_bits, "dram_write_bits": self.dram_write_bits,
            "sram_read_bits": self.sram_read_bits, "sram_write_bits": self.sram_write_bits,
        }
        stalls = self.stalls
        row.update({f"stall_{c}": stalls.get(c, 0) for c in causes})
        row.update({k: v for k, v in asdict(self.energy).items()})
        row["energy_total_pj"] = self.energy.total_pj
        return row


@dataclass(frozen=True, slots=True)
class RunStats:
    """A whole program on one arch: layers in order, their total, the tile timeline, and the
    FPGA resource report where the arch has a board (``None`` otherwise)."""

    arch: str
    mode: str
    clock_mhz: float
    layers: tuple[LayerStats, ...]
    trace: tuple[TraceEvent, ...] = field(default=(), repr=False)
    resources: Any = None

    @property
    def total(self) -> LayerStats:
        total = self.layers[0].renamed("total")
        for layer in self.layers[1:]:
            total = total + layer
        return total

    @property
    def cycles(self) -> int:
        return self.total.cycles

    @property
    def seconds(self) -> float:
        return self.total.seconds

    def layer(self, name: str) -> LayerStats:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        res = self.resources.to_dict() if self.resources is not None else None
        return {"arch": self.arch, "mode": self.mode, "clock_mhz": self.clock_mhz,
                "layers": [layer.to_dict() for layer in self.layers],
                "total": self.total.to_dict(), "resources": res}

    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str:
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            write_text(path, text)
        return text

    def to_csv(self, path: str | Path | None = None) -> str:
        """One row per layer plus a ``total`` row."""
        rows = [*self.layers, self.total]
        causes = sorted({c for layer in rows for c, _ in layer.stall_cycles})
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0].csv_row(causes)))
        writer.writeheader()
        for layer in rows:
            writer.writerow(layer.csv_row(causes))
        if path is not None:
            write_text(path, out.getvalue())
        return out.getvalue()

    def to_perfetto(self, path: str | Path) -> dict[str, Any]:
        """Write the tile timeline as Chrome trace-event JSON (opens in ui.perfetto.dev)."""
        us_per_cycle = 1.0 / self.clock_mhz
        tracks = sorted({e.track for e in self.trace})
        tid = {t: i + 1 for i, t in enumerate(tracks)}
        events: list[dict[str, Any]] = [
            {"ph": "M", "pid": 1, "name": "process_name", "args": {"name": f"{self.arch}"}},
        ]
        events += [{"ph": "M", "pid": 1, "tid": tid[t], "name": "thread_name",
                    "args": {"name": t}} for t in tracks]
        for e in self.trace:
            events.append({
                "ph": "X", "pid": 1, "tid": tid[e.track], "name": e.name, "cat": e.layer,
                "ts": e.start * us_per_cycle, "dur": max(e.duration, 0) * us_per_cycle,
                "args": {"layer": e.layer, "start_cycle": e.start, "cycles": e.duration},
            })
        doc = {"traceEvents": events, "displayTimeUnit": "ns"}
        write_text(path, json.dumps(doc))
        return doc
