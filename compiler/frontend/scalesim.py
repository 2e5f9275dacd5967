"""Read SCALE-Sim's inputs: an architecture ``.cfg`` and a topology ``.csv``.

SCALE-Sim (Samajdar et al., ISPASS 2020) describes the array in an INI file
(``[architecture_presets]``: ``ArrayHeight``, ``ArrayWidth``, ``IfmapSramSzkB``,
``FilterSramSzkB``, ``OfmapSramSzkB``, ``Dataflow``, optional ``Bandwidth`` in words per cycle)
and the workload in a CSV, one layer a row, in one of two forms:

- convolution: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
  Channels, Num Filter, Strides,`` (the input is taken as already padded, so the output is
  ``(H - Fh) / S + 1`` rows, as SCALE-Sim computes it);
- GEMM: ``Layer, M, N, K,`` (inputs ``M x K``, weights ``K x N``).

Rows may end with a trailing comma (SCALE-Sim's own files do). The result is an
:class:`~hwsim.config.Arch` with the one dataflow of the file and a lowered IR graph, ready for
simulation in ``scalesim`` timing mode. SCALE-Sim has no clock: 1 GHz is assumed, so cycles
compare directly and seconds are cycles / 1e9. Nothing here imports torch.
"""

from __future__ import annotations

import configparser
import csv
import io
from pathlib import Path

from compiler.errors import TraceError
from compiler.ir import Graph, Op, OpKind, TensorSpec
from compiler.passes import compile_graph
from hwsim.config import ARRAY_SIDE, Arch, arch_from_dict
from hwsim.dataflow import DATAFLOWS
from hwsim.errors import ConfigError, SystolabError
from hwsim.fields import POSITIVE_INT, Check, shown, within
from hwsim.memory import BufferConfig
from hwsim.yamlfile import read_text

__all__ = ["ScaleSimError", "load_scalesim_arch", "load_scalesim_topology"]

CLOCK_MHZ = 1000.0
_DEFAULT_BANDWIDTH_WORDS = 10  # SCALE-Sim's example configs use 10 words/cycle
# words (bytes) per cycle at 1 GHz; the bound is the arch's DRAM limit of 10^6 GB/s
_WORDS_PER_CYCLE = within(POSITIVE_INT, None, 10**6, "10^6 GB/s at 1 GHz")


class ScaleSimError(SystolabError):
    """A SCALE-Sim config or topology file that cannot be read; the message says where."""


def load_scalesim_arch(path: str | Path) -> Arch:
    """An :class:`Arch` from a SCALE-Sim ``.cfg`` (8-bit words, the file's one dataflow)."""
    path = Path(path)
    parser = configparser.ConfigParser()
    text = read_text(path, "SCALE-Sim config", ScaleSimError, "INI text")
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as err:
        reason = " ".join(str(err).split())[:300]
        raise ScaleSimError(f"{path}: not a valid SCALE-Sim config: {reason}") from None
    section = "architecture_presets"
    if not parser.has_section(section):
        raise ScaleSimError(f"{path}: section [{section}] is missing")
    arch = parser[section]

    def integer(key: str, check: Check, default: int | None = None) -> int:
        """``key`` as an integer, checked as the arch field it becomes (with its limits)."""
        raw = arch.get(key)
        if raw is None:
            if default is None:
                raise ScaleSimError(f"{path}: [{section}] {key} is missing")
            return default
        where = f"{path}: [{section}] {key}"
        try:
            value = int(raw.strip())
        except ValueError:
            raise ScaleSimError(f"{where} must be {check.expectation}, not "
                                f"{shown(raw.strip())}") from None
        try:
            return int(check.test(where, value))
        except ConfigError as err:
            raise ScaleSimError(str(err)) from None

    dataflow = arch.get("Dataflow", "").strip().lower()
    if dataflow not in DATAFLOWS:
        raise ScaleSimError(f"{path}: [{section}] Dataflow must be one of "
                            f"{', '.join(DATAFLOWS)}, not {shown(dataflow)}")
    rows, cols = integer("ArrayHeight", ARRAY_SIDE), integer("ArrayWidth", ARRAY_SIDE)
    bandwidth = integer("Bandwidth", _WORDS_PER_CYCLE, _DEFAULT_BANDWIDTH_WORDS)
    size = BufferConfig.CHECKS["size_kib"]
    run_name = parser.get("general", "run_name", fallback=path.stem).strip() or path.stem
    doc = {
        "name": run_name,
        "description": f"from SCALE-Sim config {path.name}",
        "array": {"rows": rows, "cols": cols, "dataflows": [dataflow],
                  "pe": {"kind": "int", "width_bits": 8}, "clock_mhz": CLOCK_MHZ},
        "buffers": {
            "input": {"size_kib": integer("IfmapSramSzkB", size), "bytes_per_cycle": rows},
            "weight": {"size_kib": integer("FilterSramSzkB", size), "bytes_per_cycle": cols},
            "output": {"size_kib": integer("OfmapSramSzkB", size), "bytes_per_cycle": cols},
        },
        # words (bytes) per cycle at 1 GHz is GB/s
        "dram": {"bw_gbps": bandwidth * CLOCK_MHZ / 1000.0, "latency_ns": 100,
                 "pj_per_bit": 8.0},
        "vector": {"lanes": cols},
        "energy": "horowitz_45nm",
    }
    return arch_from_dict(doc)


def _layer(row: list[str], where: str) -> tuple[Op, Op]:
    values = [v.strip() for v in row]
    while values and values[-1] == "":
        values.pop()  # SCALE-Sim rows end with a comma
    name, numbers = values[0], values[1:]
    try:
        nums = [int(v) for v in numbers]
    except ValueError:
        raise ScaleSimError(f"{where}: layer {name!r}: every field after the name must be an "
                            f"integer, not {shown(numbers)}") from None
    if any(n <= 0 for n in nums):
        raise ScaleSimError(f"{where}: layer {name!r}: every field must be positive, not {nums}")
    if len(nums) == 7:
        h, w, fh, fw, c, f, s = nums
        if fh > h or fw > w:
            raise ScaleSimError(f"{where}: layer {name!r}: filter {fh}x{fw} must fit the "
                                f"{h}x{w} input")
        oh, ow = (h - fh) // s + 1, (w - fw) // s + 1
        x = TensorSpec((1, c, h, w))
        inp = Op(f"{name}.input", OpKind.INPUT, (), x, source=where)
        conv = Op(name, OpKind.CONV2D, (x,), TensorSpec((1, f, oh, ow)),
                  attrs={"kernel": (fh, fw), "stride": (s, s), "padding": (0, 0),
                         "dilation": (1, 1), "groups": 1},
                  weight=TensorSpec((f, c, fh, fw)), source=where)
        return inp, conv
    if len(nums) == 3:
        m, n, k = nums
        x = TensorSpec((m, k))
        inp = Op(f"{name}.input", OpKind.INPUT, (), x, source=where)
        return inp, Op(name, OpKind.LINEAR, (x,), TensorSpec((m, n)), weight=TensorSpec((n, k)),
                       source=where)
    raise ScaleSimError(f"{where}: layer {name!r} must have 7 fields (convolution: IFMAP "
                        "Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                        f"Strides) or 3 (GEMM: M, N, K), not {len(nums)}")


def load_scalesim_topology(path: str | Path) -> Graph:
    """A lowered IR graph with one independent compute op per topology row."""
    path = Path(path)
    text = read_text(path, "SCALE-Sim topology", ScaleSimError, "CSV")
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(v.strip() for v in r)]
    except csv.Error as err:
        raise ScaleSimError(f"SCALE-Sim topology {str(path)!r} is not valid CSV: {err}") from None
    if len(rows) < 2:
        raise ScaleSimError(f"{path}: a topology needs a header row and at least one layer")
    graph = Graph()
    for line, row in enumerate(rows[1:], start=2):
        inp, op = _layer(row, f"{path.name} line {line}")
        try:
            graph.add_op(inp)
            graph.add_op(op, inputs=[inp.name])
        except SystolabError as err:
            raise ScaleSimError(f"{path.name} line {line}: {err}") from None
    try:
        return compile_graph(graph)
    except SystolabError as err:
        raise TraceError(f"{path}: {err}") from err
