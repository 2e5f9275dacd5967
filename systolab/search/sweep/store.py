"""The sweep's result store: one SQLite row per finished point, committed as it finishes.

An interrupted sweep (Ctrl-C, a killed process, a lost Ray cluster) loses at most the points
in flight: everything committed stays, and a resumed sweep skips the ids it finds. The store
remembers its format version and the fingerprint of what the results depend on (base arch,
workloads, constraints, area table, co-design settings, timing mode); resuming with a
different one is an error rather than a silent mix of incompatible results. Strategy and
objectives are not part of it: a longer random sweep or a different choice of objectives
reuses every finished point.

A store passed to ``--resume`` may be anything, so nothing in it is trusted: a file that is not
SQLite, a database with other tables, a damaged file and a row whose fields do not hold what
this module writes (NaN or negative metrics included) are each a :class:`StoreError` naming
the store (and the point) and saying what to do. Results with a non-finite metric are never
written.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hwsim.errors import SystolabError
from systolab.search.sweep.evaluate import PointResult
from systolab.search.sweep.points import Point

__all__ = ["FORMAT", "StoreError", "SweepStore"]

FORMAT = "1"
_COLUMNS = ("id", "seq", "params", "feasible", "reason", "metrics", "details", "wall_s")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, params TEXT NOT NULL, feasible INTEGER NOT NULL,
    reason TEXT NOT NULL, metrics TEXT NOT NULL, details TEXT NOT NULL, wall_s REAL NOT NULL);
"""
_WHAT_TO_DO = "delete it, or use another --out"
T = TypeVar("T")


class StoreError(SystolabError):
    """A result store that cannot be used for this sweep (the message says why)."""


class SweepStore:
    """SQLite store at ``path`` (created with its folder if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        try:
            with self._guard():
                tables = {r[0] for r in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                if tables - {"meta", "points"}:
                    raise StoreError(f"{self.path} is not a sweep store (it holds the tables "
                                     f"{', '.join(sorted(tables))[:200]}): {_WHAT_TO_DO}")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.executescript(_SCHEMA)
                self._check_layout()
        except BaseException:
            self._db.close()
            raise

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite's own errors (not a database, damaged, read-only) as one StoreError."""
        try:
            yield
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path} cannot be used as a sweep store ({err}): "
                             f"{_WHAT_TO_DO}") from None

    def _check_layout(self) -> None:
        columns = tuple(r[1] for r in self._db.execute("PRAGMA table_info(points)"))
        if columns != _COLUMNS:
            raise StoreError(f"{self.path} is not a sweep store of this systolab (its points "
                             f"have the columns {', '.join(columns)[:200]}): {_WHAT_TO_DO}")
        version = self._meta("format")
        if version is not None and version != FORMAT:
            raise StoreError(f"{self.path} has store format {version[:20]!r}, this systolab "
                             f"reads format {FORMAT}: {_WHAT_TO_DO}")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        with self._guard():
            return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def claim(self, fingerprint: str, resume: bool) -> None:
        """Bind the store to a sweep: a fresh store takes ``fingerprint``; a store with results
        needs ``resume`` and the same fingerprint."""
        with self._guard():
            theirs = self._meta("fingerprint")
            if theirs is not None and theirs != fingerprint:
                raise StoreError(f"{self.path} holds results of a different sweep (fingerprint "
                                 f"{theirs[:20]}, this sweep {fingerprint}): use another --out "
                                 "or delete it")
            if len(self) and not resume:
                raise StoreError(f"{self.path} already holds {len(self)} points: pass --resume "
                                 "to continue that sweep, or use another --out")
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                     [("format", FORMAT), ("fingerprint", fingerprint)])

    def done_ids(self) -> set[str]:
        with self._guard():
            return {str(r[0]) for r in self._db.execute("SELECT id FROM points")}

    def add(self, result: PointResult) -> None:
        """Write one finished point and commit (so a kill right after loses nothing)."""
        if not _finite_metrics(result.metrics):
            raise ValueError(f"point {result.id} has metrics that cannot be stored: "
                             f"{result.metrics}")
        with self._guard(), self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (result.id, result.seq, json.dumps(result.point.params), int(result.feasible),
                 result.reason, json.dumps(result.metrics, allow_nan=False),
                 json.dumps(result.details, allow_nan=False), result.wall_s))

    def get(self, point_id: str) -> PointResult | None:
        with self._guard():
            row = self._db.execute("SELECT * FROM points WHERE id = ?", (point_id,)).fetchone()
        return self._result(row) if row else None

    def results(self) -> list[PointResult]:
        """Every stored point, in sweep order (``seq``, then id)."""
        with self._guard():
            rows = self._db.execute("SELECT * FROM points ORDER BY seq, id").fetchall()
        return [self._result(r) for r in rows]

    def _result(self, row: tuple[Any, ...]) -> PointResult:
        pid, seq, params, feasible, reason, metrics, details, wall_s = row
        try:
            pairs: list[Any] = _loads(params, list)
            point = Point(tuple((str(k), v) for k, v in pairs))
            result = PointResult(point, _check(seq, int), bool(_check(feasible, int)),
                                 _check(reason, str), _loads(metrics, dict),
                                 _loads(details, dict), float(_check(wall_s, float)))
            if point.id != pid:
                raise ValueError("its id does not match its parameters")
            if not _finite_metrics(result.metrics):
                raise ValueError("its metrics must be finite non-negative numbers")
        except (TypeError, ValueError) as err:
            raise StoreError(f"{self.path}: the stored point {str(pid)[:40]!r} is malformed "
                             f"({str(err)[:200]}): {_WHAT_TO_DO}") from None
        return result


def _finite_metrics(metrics: dict[str, Any]) -> bool:
    return all(isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
               and math.isfinite(v) and v >= 0 for k, v in metrics.items())


def _check(value: Any, kind: type) -> Any:
    fits = isinstance(value, int | float) if kind is float else isinstance(value, kind)
    if not fits or isinstance(value, bool):
        raise TypeError(f"expected {kind.__name__}, found {type(value).__name__}")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a value a store can hold")


def _loads(text: Any, kind: type[T]) -> T:
    value = json.loads(_check(text, str), parse_constant=_no_constant)
    if not isinstance(value, kind):
        raise TypeError(f"expected a JSON {kind.__name__}, found {type(value).__name__}")
    return value
