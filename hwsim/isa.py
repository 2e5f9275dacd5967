"""The tile ISA: a :class:`Program` of layers; a layer is a sequence of :class:`Run` s; a run is a
short *body* of tile instructions repeated ``count`` times.

Instructions (operand sizes in bits, per instance):

- :class:`Load` ``buffer`` (input | weight | output) ``bits`` from DRAM into SRAM, into one of
  ``slots`` SRAM slots of its stream; a weight load that passes the arch's weight decoder
  (:class:`hwsim.config.WeightDecoderConfig`) names the ``decode`` stored entries it expands
  and the ``sram_bits`` it writes (``bits`` when not given);
- :class:`Compute` one array tile ``m x k x n`` (see :mod:`hwsim.timing`) at ``w_bits/a_bits``,
  writing ``m * n`` results of ``acc_bits`` into the output buffer;
- :class:`Vector` ``elements x ops_per_element`` operations on the vector unit;
- :class:`Store` ``bits`` from the output buffer to DRAM.

Semantics, stated once (the engine implements exactly this):

- Iteration ``i`` of a run executes the body in order. An instruction with ``every = P`` and
  ``window = (lo, hi)`` executes in iteration ``i`` iff ``lo <= i % P < hi``. The default
  window is ``(0, 1)`` for loads, computes and vector ops (the first of each group of ``P``)
  and ``(P - 1, P)`` for stores (the last of the group), so a weight tile reused by ``P``
  activation tiles is loaded once and an output tile accumulated over ``P`` reduction steps is
  stored once. Windows express edge tiles and reuse without unrolling: with ``Kt`` reduction
  steps, a full-``k`` compute has ``every=Kt, window=(0, Kt - 1)`` and the edge compute
  ``every=Kt, window=(Kt - 1, Kt)``. ``count`` must be a multiple of every ``every``, so an
  instruction executes ``count // P * (hi - lo)`` times; all stores of a body share one
  ``every`` and ``window``.
- ``deps`` are indices of earlier body instructions; an instance waits for the most recent
  instance (same or earlier iteration) of each. Loads take no deps: they wait only for a free
  SRAM slot. The loads of one buffer form one *load stream* if no two of them execute in the
  same iteration (variants such as a full and an edge tile); otherwise each load is a stream of
  its own. A stream has ``slots >= 2`` SRAM slots (2, the default, is double buffering; all
  loads of one buffer in a run share the number): its ``j``-th instance writes the slot of
  instance ``j - slots``, which is free once every instance that depends on that instance has
  read its operands. More slots let the DMA run further ahead of the array, which hides DRAM
  latency when tiles are short (Little's law: the transfers in flight must cover latency x
  rate). A store's results form an *output group*: the iterations after the previous store
  instance up to the store. A group occupies one of two output slots from its
  first Compute/Vector until its store has drained it.
- A load occupies the DRAM channel for its transfer (:mod:`hwsim.memory`) or, when it is
  decoded, for as long as the decoder takes if that is longer: the decoder sits in the DMA's
  path, so the channel serves the next transfer once the last entry is decoded.
- Runs of a layer execute in order on shared units (the pipeline does not drain between runs);
  layers execute in order (the next starts when the previous is complete).

A GEMM tiled into thousands of identical tiles is therefore one run of a few instructions,
plus one run per class of edge tile:

>>> body = (Load("weight", 16 * 16 * 8, every=4), Load("input", 64 * 16 * 8),
...         Compute("ws", 64, 16, 16, deps=(0, 1)), Store(64 * 16 * 32, deps=(2,)))
>>> prog = Program("demo", (Layer("fc", (Run(body, count=1000),)),))
>>> prog.validate()
>>> Program.from_json(prog.to_json()) == prog
True
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from hwsim.config import Arch
from hwsim.errors import ProgramError
from hwsim.fields import shown
from hwsim.memory import BUFFER_NAMES
from hwsim.timing import check_tile

__all__ = ["Compute", "Instr", "Layer", "Load", "Program", "Run", "Store", "Vector",
           "latest_instance", "next_instance", "window_of"]

@dataclass(frozen=True, slots=True)
class Load:
    buffer: str
    bits: int
    every: int = 1
    deps: tuple[int, ...] = ()
    window: tuple[int, int] | None = None
    slots: int = 2
    decode: int = 0  # stored entries the weight decoder expands (0: not decoded)
    sram_bits: int | None = None  # bits written into SRAM (None: ``bits``)
    op: str = field(default="load", init=False)

    @property
    def stored_bits(self) -> int:
        """Bits the load writes into its SRAM slot."""
        return self.bits if self.sram_bits is None else self.sram_bits


@dataclass(frozen=True, slots=True)
class Compute:
    dataflow: str
    m: int
    k: int
    n: int
    w_bits: int = 8
    a_bits: int = 8
    acc_bits: int = 32
    every: int = 1
    deps: tuple[int, ...] = ()
    window: tuple[int, int] | None = None
    op: str = field(default="compute", init=False)

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n


@dataclass(frozen=True, slots=True)
class Vector:
    kind: str
    elements: int
    ops_per_element: int = 1
    bits: int = 32
    every: int = 1
    deps: tuple[int, ...] = ()
    window: tuple[int, int] | None = None
    op: str = field(default="vector", init=False)

    @property
    def ops(self) -> int:
        return self.elements * self.ops_per_element


@dataclass(frozen=True, slots=True)
class Store:
    bits: int
    every: int = 1
    deps: tuple[int, ...] = ()
    window: tuple[int, int] | None = None
    op: str = field(default="store", init=False)


Instr = Load | Compute | Vector | Store
_CLASSES: dict[str, type[Instr]] = {"load": Load, "compute": Compute, "vector": Vector,
                                     "store": Store}


def window_of(ins: Instr) -> tuple[int, int]:
    """``(lo, hi)``: ``ins`` executes in iteration ``i`` iff ``lo <= i % ins.every < hi``."""
    if ins.window is not None:
        return ins.window
    return (ins.every - 1, ins.every) if isinstance(ins, Store) else (0, 1)


def latest_instance(ins: Instr, i: int) -> int:
    """Iteration of the most recent instance of ``ins`` at or before iteration ``i``, on the
    pattern extended periodically to all integers (negative: before the run)."""
    lo, hi = window_of(ins)
    q, o = divmod(i, ins.every)
    if o >= hi:
        return q * ins.every + hi - 1
    return i if o >= lo else (q - 1) * ins.every + hi - 1


def next_instance(ins: Instr, i: int) -> int:
    """Iteration of the first instance of ``ins`` after iteration ``i`` (pattern extended
    periodically, so it may lie past the run's end)."""
    lo, hi = window_of(ins)
    q, o = divmod(i + 1, ins.every)
    if o < lo:
        return q * ins.every + lo
    return i + 1 if o < hi else (q + 1) * ins.every + lo


@dataclass(frozen=True, slots=True)
class Run:
    """``count`` iterations of ``body``."""

    body: tuple[Instr, ...]
    count: int = 1
    name: str = ""

    @property
    def period(self) -> int:
        """Iterations after which the body's pattern repeats (lcm of the ``every`` s)."""
        return math.lcm(*(ins.every for ins in self.body)) if self.body else 1

    def instances(self, index: int) -> int:
        """How many times body instruction ``index`` executes in the run."""
        ins = self.body[index]
        lo, hi = window_of(ins)
        return self.count // ins.every * (hi - lo)


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer's runs. ``input_bits/weight_bits/output_bits``: its unique tensor footprints
    (0 when unknown), against which DRAM traffic is checked."""

    name: str
    runs: tuple[Run, ...]
    input_bits: int = 0
    weight_bits: int = 0
    output_bits: int = 0


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    layers: tuple[Layer, ...]

    def validate(self, arch: Arch | None = None, *, capacity: bool = True) -> None:
        """Raise :class:`ProgramError` naming the first malformed instruction.

        With ``arch``, also checks that tiles fit the array and the bits fit the PE, and (with
        ``capacity``) that the slots of every load stream fit their SRAM buffer. SCALE-Sim's
        folds stream a whole operand through SRAM it models apart from its fold count, so
        ``scalesim`` timing mode does not check capacity.
        """
        if not self.layers:
            raise ProgramError(f"program {self.name!r} must have at least one layer")
        checked: set[int] = set()  # (repeated layers share their run objects: checked once)
        for li, layer in enumerate(self.layers):
            if not layer.runs:
                raise ProgramError(f"layer {li} ({layer.name!r}) must have at least one run")
            for ri, run in enumerate(layer.runs):
                if id(run) not in checked:
                    _validate_run(run, f"layer {li} ({layer.name!r}) run {ri}", arch, capacity)
                    checked.add(id(run))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Program:
        try:
            layers = []
            for layer in data["layers"]:
                runs = tuple(
                    Run(body=tuple(_instr(i) for i in run["body"]), count=run["count"],
                        name=run.get("name", ""))
                    for run in layer["runs"]
                )
                layers.append(Layer(layer["name"], runs, layer.get("input_bits", 0),
                                    layer.get("weight_bits", 0), layer.get("output_bits", 0)))
            return cls(data["name"], tuple(layers))
        except (KeyError, TypeError) as err:
            raise ProgramError(f"program JSON must follow the Program schema ({err!r})") from None

    @classmethod
    def from_json(cls, text: str) -> Program:
        return cls.from_dict(json.loads(text))

    @property
    def tiles(self) -> int:
        """Number of Compute instances in the program."""
        return sum(run.instances(i) for layer in self.layers for run in layer.runs
                   for i, ins in enumerate(run.body) if isinstance(ins, Compute))


def _instr(d: dict[str, Any]) -> Instr:
    d = dict(d)
    op = d.pop("op", None)
    if op not in _CLASSES:
        raise ProgramError(f"instruction op must be one of {sorted(_CLASSES)}, not {shown(op)}")
    d["deps"] = tuple(d.get("deps", ()))
    if d.get("window") is not None:
        d["window"] = tuple(d["window"])
    return _CLASSES[op](**d)


def _pos(where: str, name: str, value: Any, zero_ok: bool = False) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and (
        value >= 0 if zero_ok else value > 0)
    if not ok:
        kind = "a non-negative" if zero_ok else "a positive"
        raise ProgramError(f"{where}: {name} must be {kind} integer, not {shown(value)}")


def _validate_run(run: Run, where: str, arch: Arch | None, capacity: bool = True) -> None:
    if not run.body:
        raise ProgramError(f"{where}: body must have at least one instruction")
    _pos(where, "count", run.count)
    stores = [ins for ins in run.body if isinstance(ins, Store)]
    if len({s.every for s in stores}) > 1:
        raise ProgramError(f"{where}: all stores of a body must share one 'every', "
                           f"not {shown([s.every for s in stores])}")
    if len({window_of(s) for s in stores}) > 1:
        raise ProgramError(f"{where}: all stores of a body must share one 'window', "
                           f"not {shown([s.window for s in stores])}")
    slots: dict[str, int] = {}
    for idx, ins in enumerate(run.body):
        here = f"{where} instr {idx} ({ins.op})"
        _pos(here, "every", ins.every)
        if run.count % ins.every:
            raise ProgramError(f"{here}: every must divide the run count {run.count}, "
                               f"not {shown(ins.every)}")
        w = ins.window
        if w is not None and not (
                isinstance(w, tuple) and len(w) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in w)
                and 0 <= w[0] < w[1] <= ins.every):
            raise ProgramError(f"{here}: window must be a pair (lo, hi) with "
                               f"0 <= lo < hi <= every = {ins.every}, not {shown(w)}")
        for d in ins.deps:
            if not isinstance(d, int) or not 0 <= d < idx:
                raise ProgramError(f"{here}: deps must name earlier instructions "
                                   f"(0..{idx - 1}), not {shown(d)}")
        if isinstance(ins, Load):
            if ins.deps:
                raise ProgramError(f"{here}: deps must be empty for a load (loads wait only "
                                   f"for a free buffer slot), not {shown(ins.deps)}")
            if ins.buffer not in BUFFER_NAMES:
                raise ProgramError(f"{here}: buffer must be one of {BUFFER_NAMES}, "
                                   f"not {shown(ins.buffer)}")
            _pos(here, "bits", ins.bits)
            if not isinstance(ins.slots, int) or isinstance(ins.slots, bool) or ins.slots < 2:
                raise ProgramError(f"{here}: slots must be an integer of at least 2 (double "
                                   f"buffering), not {shown(ins.slots)}")
            if slots.setdefault(ins.buffer, ins.slots) != ins.slots:
                raise ProgramError(f"{here}: slots must be the same for all {ins.buffer} loads "
                                   f"of a run ({slots[ins.buffer]}), not {shown(ins.slots)}")
            _pos(here, "decode", ins.decode, zero_ok=True)
            if ins.sram_bits is not None:
                _pos(here, "sram_bits", ins.sram_bits)
            if ins.decode and ins.buffer != "weight":
                raise ProgramError(f"{here}: decode must be 0 for a load into the {ins.buffer} "
                                   f"buffer (the decoder expands weights), not {shown(ins.decode)}")
            if ins.decode and arch is not None and arch.weight_decoder is None:
                raise ProgramError(f"{here}: decode must be 0 on {arch.name}, which has no "
                                   f"weight_decoder, not {shown(ins.decode)}")
            if capacity and arch is not None \
                    and ins.slots * ins.stored_bits > arch.buffers.get(ins.buffer).size_bits:
                what = "bits" if ins.sram_bits is None else "sram_bits"
                raise ProgramError(
                    f"{here}: {what} must fit {ins.slots} times (its slots) in the "
                    f"{arch.buffers.get(ins.buffer).size_kib} KiB {ins.buffer} buffer, "
                    f"not {shown(ins.stored_bits)}")
        elif isinstance(ins, Store):
            _pos(here, "bits", ins.bits)
            if any(isinstance(run.body[d], Load) for d in ins.deps):
                raise ProgramError(f"{here}: a store must depend on computes or vector ops")
        elif isinstance(ins, Vector):
            _pos(here, "elements", ins.elements)
            _pos(here, "ops_per_element", ins.ops_per_element)
            _pos(here, "bits", ins.bits)
        else:
            _pos(here, "acc_bits", ins.acc_bits)
            if arch is not None:
                if ins.dataflow not in arch.array.dataflows:
                    raise ProgramError(f"{here}: dataflow must be one of {arch.array.dataflows} "
                                       f"on {arch.name}, not {shown(ins.dataflow)}")
                try:
                    check_tile(arch.array, ins.dataflow, ins.m, ins.k, ins.n,
                               ins.w_bits, ins.a_bits)
                except ProgramError as err:
                    raise ProgramError(f"{here}: {err}") from None
            else:
                for name in ("m", "k", "n", "w_bits", "a_bits"):
                    _pos(here, name, getattr(ins, name))
