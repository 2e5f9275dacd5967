"""A sweep store passed to --resume may be anything: a file that is not SQLite, another
program's database, a damaged file or a tampered row is one StoreError naming the store (and
the point), never a sqlite3 traceback or a NaN on the front; one --out serves one sweep."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from systolab.search.lock import OutputBusyError, exclusive
from systolab.search.sweep import StoreError, run_sweep, sweep_spec_from_dict
from systolab.search.sweep.evaluate import PointResult, evaluate_point
from systolab.search.sweep.points import Point
from systolab.search.sweep.runner import STORE_NAME, build_context
from systolab.search.sweep.store import SweepStore

WHAT_TO_DO = "delete it, or use another --out"


@pytest.fixture
def spec(tiny_doc):
    return sweep_spec_from_dict(tiny_doc(axes={"array": [4, 8, 16], "dataflow": ["ws"]}))


@pytest.fixture
def stored(spec, tmp_path: Path) -> Path:
    run_sweep(spec, tmp_path, workers=0)
    return tmp_path / STORE_NAME


def _sql(path: Path, statement: str, *args: Any) -> None:
    with sqlite3.connect(path) as db:
        db.execute(statement, args)
    db.close()


def _foreign_db(path: Path) -> None:
    path.unlink()
    _sql(path, "CREATE TABLE photos (name TEXT)")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


DAMAGE: dict[str, tuple[Callable[[Path], Any], str]] = {
    "not SQLite": (lambda p: p.write_bytes(b"name,latency\nx,1\n" * 100),
                   "cannot be used as a sweep store .file is not a database"),
    "another program's database": (_foreign_db, "not a sweep store .it holds the tables photos"),
    "other columns": (lambda p: (p.unlink(), _sql(p, "CREATE TABLE points (id TEXT, v REAL)")),
                      "its points have the columns id, v"),
    "a future format": (lambda p: _sql(p, "UPDATE meta SET value = '7' WHERE key = 'format'"),
                        "has store format '7', this systolab reads format 1"),
    "NaN metric": (lambda p: _sql(p, "UPDATE points SET metrics = ? WHERE seq = 0",
                                  '{"latency_ms": NaN, "area_mm2": 1}'),
                   "is malformed .NaN is not a value a store can hold"),
    "negative metric": (lambda p: _sql(p, "UPDATE points SET metrics = ? WHERE seq = 1",
                                       '{"latency_ms": -1, "area_mm2": 1}'),
                        "metrics must be finite non-negative numbers"),
    "overflowing metric": (lambda p: _sql(p, "UPDATE points SET metrics = ? WHERE seq = 1",
                                          '{"latency_ms": 1e999}'),
                           "metrics must be finite non-negative numbers"),
    "metrics not JSON": (lambda p: _sql(p, "UPDATE points SET metrics = 'oops' WHERE seq = 2"),
                         "is malformed"),
    "params of another point": (lambda p: _sql(p, "UPDATE points SET params = ? WHERE seq = 0",
                                               '[["array", 64], ["dataflow", "ws"]]'),
                                "its id does not match its parameters"),
    "params not pairs": (lambda p: _sql(p, "UPDATE points SET params = '[1, 2]' WHERE seq = 0"),
                         "is malformed"),
    "seq of text": (lambda p: _sql(p, "UPDATE points SET seq = 'x' WHERE seq = 2"),
                    "expected int, found str"),
    "truncated": (_truncate, "cannot be used as a sweep store"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_or_foreign_store_is_one_message_that_says_what_to_do(
        spec, stored: Path, damage: str) -> None:
    change, message = DAMAGE[damage]
    change(stored)
    with pytest.raises(StoreError, match=message) as info:
        run_sweep(spec, stored.parent, workers=0, resume=True)
    assert str(stored) in str(info.value) and WHAT_TO_DO in str(info.value)
    assert len(str(info.value)) < 600


def test_an_empty_store_file_resumes_as_a_fresh_sweep(spec, tmp_path: Path) -> None:
    (tmp_path / STORE_NAME).write_bytes(b"")
    outcome = run_sweep(spec, tmp_path, workers=0, resume=True)
    assert outcome.evaluated == len(outcome.results) == 3


def test_a_non_finite_metric_makes_the_point_infeasible_and_is_never_stored(
        spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import systolab.search.sweep.evaluate as evaluate

    def nan_energy(*args: Any) -> dict[str, float]:  # stands for any modelling bug
        return {"latency_ms": 1.0, "energy_uj": math.nan, "cycles": 1, "utilization": math.inf}

    monkeypatch.setattr(evaluate, "_simulate", nan_energy)
    result = evaluate_point(0, Point.of({"array": 8, "dataflow": "ws"}), build_context(spec))
    assert not result.feasible
    assert result.reason == ("energy_uj is nan, not a finite non-negative number (check the "
                             "arch's numeric fields)")
    assert set(result.metrics) == {"area_mm2", "latency_ms"}
    assert result.details["conv"]["utilization"] is None
    with SweepStore(tmp_path / "s.sqlite") as store:
        store.add(result)
        assert store.results()[0].reason == result.reason
        with pytest.raises(ValueError, match="cannot be stored"):
            store.add(PointResult(result.point, 0, True, "", {"latency_ms": math.nan}))


def test_one_output_folder_serves_one_sweep_at_a_time(spec, tmp_path: Path) -> None:
    with exclusive(tmp_path, "search"), \
            pytest.raises(OutputBusyError, match="cannot start this sweep"):
        run_sweep(spec, tmp_path, workers=0)
    assert not (tmp_path / STORE_NAME).exists()
    assert len(run_sweep(spec, tmp_path, workers=0).results) == 3


def test_stored_rows_are_the_json_this_module_writes(stored: Path) -> None:
    with sqlite3.connect(stored) as db:
        metrics = [json.loads(m) for (m,) in db.execute("SELECT metrics FROM points")]
    db.close()
    assert metrics and all(math.isfinite(v) for m in metrics for v in m.values())
