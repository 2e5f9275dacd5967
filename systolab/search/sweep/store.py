"""The sweep's result store: one SQLite row per finished point, committed as it finishes.

An interrupted sweep (Ctrl-C, a killed process, a lost Ray cluster) loses at most the points
in flight: everything committed stays, and a resumed sweep skips the ids it finds. The store
remembers the fingerprint of what the results depend on (base arch, workloads, constraints,
area table, co-design settings, timing mode); resuming with a different one is an error rather
than a silent mix of incompatible results. Strategy and objectives are not part of it: a
longer random sweep or a different choice of objectives reuses every finished point.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from hwsim.errors import SystolabError
from systolab.search.sweep.evaluate import PointResult
from systolab.search.sweep.points import Point

__all__ = ["StoreError", "SweepStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, params TEXT NOT NULL, feasible INTEGER NOT NULL,
    reason TEXT NOT NULL, metrics TEXT NOT NULL, details TEXT NOT NULL, wall_s REAL NOT NULL);
"""


class StoreError(SystolabError):
    """A result store that cannot be used for this sweep (the message says why)."""


class SweepStore:
    """SQLite store at ``path`` (created with its folder if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def claim(self, fingerprint: str, resume: bool) -> None:
        """Bind the store to a sweep: a fresh store takes ``fingerprint``; a store with results
        needs ``resume`` and the same fingerprint."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        if row is not None and row[0] != fingerprint:
            raise StoreError(f"{self.path} holds results of a different sweep (fingerprint "
                             f"{row[0]}, this sweep {fingerprint}): use another --out or "
                             "delete it")
        if len(self) and not resume:
            raise StoreError(f"{self.path} already holds {len(self)} points: pass --resume to "
                             "continue that sweep, or use another --out")
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)",
                             (fingerprint,))

    def done_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM points")}

    def add(self, result: PointResult) -> None:
        """Write one finished point and commit (so a kill right after loses nothing)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (result.id, result.seq, json.dumps(result.point.params), int(result.feasible),
                 result.reason, json.dumps(result.metrics), json.dumps(result.details),
                 result.wall_s))

    def get(self, point_id: str) -> PointResult | None:
        row = self._db.execute("SELECT * FROM points WHERE id = ?", (point_id,)).fetchone()
        return _result(row) if row else None

    def results(self) -> list[PointResult]:
        """Every stored point, in sweep order (``seq``, then id)."""
        rows = self._db.execute("SELECT * FROM points ORDER BY seq, id").fetchall()
        return [_result(r) for r in rows]


def _result(row: tuple) -> PointResult:
    pid, seq, params, feasible, reason, metrics, details, wall_s = row
    point = Point(tuple((k, v) for k, v in json.loads(params)))
    assert point.id == pid, "a stored point's id must match its parameters"
    return PointResult(point, seq, bool(feasible), reason, json.loads(metrics),
                       json.loads(details), wall_s)
