"""Start-up: the command line lists its commands without importing them, and every command
that needs no model capture runs with torch made unimportable (a hardware user sweeping
SCALE-Sim layer lists should not pay torch's import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

import hwsim
from systolab.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "unit" / "compiler" / "data"

# Runs the CLI in a fresh interpreter in which ``import torch`` raises ImportError, and fails
# if the run imported any of the heavy modules named on its command line after ``--``.
_RUNNER = """
import sys
sys.modules["torch"] = None
split = sys.argv.index("--")
args, banned = sys.argv[1:split], sys.argv[split + 1:]
from systolab.cli import main
code = main(args)
loaded = [m for m in banned if m in sys.modules]
if loaded:
    print("imported:", *loaded, file=sys.stderr)
    code = 3
sys.exit(code)
"""


def run_without_torch(args: list[str], cwd: Path, banned: tuple[str, ...] = ()
                      ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _RUNNER, *args, "--", *banned], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def test_every_listed_command_resolves_to_itself() -> None:
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name
    assert cli.get_command(ctx, "nonsense") is None


def test_hwsim_exports_load_lazily_and_completely() -> None:
    for name in hwsim.__all__:
        assert getattr(hwsim, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        hwsim.nonsense  # noqa: B018


def test_help_imports_no_command(tmp_path: Path) -> None:
    done = run_without_torch(["--help"], tmp_path,
                             banned=("numpy", "networkx", "rich", "systolab.commands"))
    assert done.returncode == 0, done.stderr
    for name in COMMANDS:
        assert name in done.stdout


def test_scalesim_simulation_runs_without_torch(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    done = run_without_torch(
        ["simulate", "--scalesim-config", str(DATA / "scalesim_ws32.cfg"),
         "--topology", str(ROOT / "configs" / "topologies" / "resnet18.csv"),
         "--json", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1.81 GMAC" in done.stdout  # ResNet-18's published 1.8 GMAC at 224x224
    assert out.exists()


def test_topology_sweep_and_rtl_help_run_without_torch(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: s\nbase: edge_int8\nworkloads: [{{topology: "
                    f"{DATA / 'scalesim_conv.csv'}}}]\naxes: {{array: [8, 16]}}\n")
    done = run_without_torch(["sweep", str(spec), "--workers", "0", "--no-plot",
                              "--out", str(tmp_path / "out")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 points" in done.stdout
    done = run_without_torch(["rtl", "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
