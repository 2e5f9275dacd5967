"""One run per output folder: searches and sweeps hold a lock on their ``--out``.

Two runs writing one checkpoint or one result store would each redo the other's work or
interleave their records, so the second is refused at once with a message naming the folder.
The lock is an OS file lock (``filelock``, ``flock`` on Linux) on ``<out>/.systolab.lock``: the
kernel releases it when its process ends, however it ends, so a killed run never leaves a
stale lock behind. The lock file itself stays; it holds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from hwsim.errors import SystolabError

__all__ = ["LOCK_NAME", "OutputBusyError", "exclusive"]

LOCK_NAME = ".systolab.lock"


class OutputBusyError(SystolabError):
    """Another run holds the output folder."""


@contextmanager
def exclusive(out_dir: str | Path, what: str) -> Iterator[Path]:
    """Hold ``out_dir`` (created if missing) for one ``what`` (``"search"``, ``"sweep"``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputBusyError(f"cannot start this {what}: {str(out)!r} is in use by another "
                              "systolab run; wait for it to finish, or use another --out") from None
    try:
        yield out
    finally:
        lock.release()
