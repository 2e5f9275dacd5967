"""Interrupting a sweep: Ctrl-C (SIGINT) or SIGTERM at a random moment leaves the store valid,
says how to resume, exits non-zero, and the resumed sweep ends with exactly the results of an
uninterrupted one; a sweep killed outright (SIGKILL) takes its worker processes with it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from systolab.search.sweep import run_sweep, sweep_spec_from_dict
from systolab.search.sweep.runner import STORE_NAME
from systolab.search.sweep.store import SweepStore

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

RESNET18 = Path(__file__).resolve().parents[5] / "configs" / "topologies" / "resnet18.csv"
# 120 ResNet-18 points: about 2.5 s of evaluation on two workers, after 1 s of start-up
DOC = {"name": "signals", "base": "edge_int8",
       "workloads": [{"topology": str(RESNET18), "name": "r18"}],
       "axes": {"array": [8, 12, 16, 24, 32], "buffer_kib": [32, 64, 128],
                "dram_bw_gbps": [3.2, 6.4, 12.8, 25.6], "dataflow": ["ws", "os"]},
       "objectives": ["latency_ms", "energy_uj", "area_mm2"]}


def outcome(store: Path) -> list[tuple]:
    with SweepStore(store) as s:
        return [(r.id, r.seq, r.feasible, r.reason, sorted(r.metrics.items()))
                for r in s.results()]


def sweep_cli(spec: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "systolab.cli", "sweep", str(spec), "--out", str(out),
         "--workers", "2", "--no-plot", "--no-progress", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    out = tmp_path_factory.mktemp("reference")
    run_sweep(sweep_spec_from_dict(DOC), out, workers=0)
    return outcome(out / STORE_NAME)


@pytest.mark.parametrize("sig, code, seed", [(signal.SIGINT, 130, 1), (signal.SIGTERM, 143, 2)])
def test_an_interrupted_sweep_says_how_to_resume_and_resumes_to_the_same_results(
        tmp_path: Path, reference: list[tuple], sig: signal.Signals, code: int,
        seed: int) -> None:
    spec = tmp_path / "signals.yaml"
    spec.write_text(yaml.safe_dump(DOC, sort_keys=False))
    out = tmp_path / "out"
    proc = sweep_cli(spec, out)
    time.sleep(random.Random(seed).uniform(1.2, 2.5))
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if proc.returncode != 0:  # it may have finished before the signal on a fast machine
        assert proc.returncode == code, err
        assert f"continue with: systolab sweep {spec} --out {out} --resume" in err
        assert "Traceback" not in err
    resumed = sweep_cli(spec, out, "--resume")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert outcome(out / STORE_NAME) == reference


def test_workers_die_with_a_killed_sweep(tmp_path: Path) -> None:
    spec = tmp_path / "signals.yaml"
    spec.write_text(yaml.safe_dump(DOC, sort_keys=False))
    proc = sweep_cli(spec, tmp_path / "out")
    deadline = time.monotonic() + 60
    helpers: set[int] = set()
    while len(helpers) < 3 and time.monotonic() < deadline:  # two workers, resource tracker
        time.sleep(0.1)
        helpers = children(proc.pid)
    assert len(helpers) >= 3, "the sweep did not start its workers"
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 20
    while any(alive(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in helpers if alive(p)], "workers outlived their sweep"


def test_two_sweeps_started_together_on_one_folder_never_tear_the_store(
        tmp_path: Path, reference: list[tuple]) -> None:
    spec = tmp_path / "signals.yaml"
    spec.write_text(yaml.safe_dump(DOC, sort_keys=False))
    out = tmp_path / "out"
    first, second = sweep_cli(spec, out), sweep_cli(spec, out)
    results = [p.communicate(timeout=120) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert codes == [0, 2], results
    refused = next(err for p, (_, err) in zip((first, second), results, strict=True)
                   if p.returncode == 2)
    assert "is in use by another systolab run" in refused and "Traceback" not in refused
    assert outcome(out / STORE_NAME) == reference  # every point exactly once
