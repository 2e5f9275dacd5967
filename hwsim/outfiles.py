"""Write output files atomically, so that no reader and no interrupted run sees half a file.

Every file the project writes (reports, tables, plots, traces, checkpoints) is written to a
temporary file in the destination's folder, flushed to disk and renamed over the destination
(``os.replace``, atomic on POSIX). A run killed while writing leaves the previous file, or
none, and a stray ``.<name>.*`` temporary that the next write does not depend on.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["replacing", "save_figure", "write_text"]

_UMASK = os.umask(0o022)  # read once: the mode a plain ``open`` would give a new file
os.umask(_UMASK)


@contextmanager
def replacing(path: str | Path, mode: str = "wb", **open_args: Any) -> Iterator[IO[Any]]:
    """A file handle opened with ``mode`` (``"wb"`` or ``"w"``) whose content replaces
    ``path`` when the block ends without an exception; on an exception ``path`` is untouched."""
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', not {mode!r}")
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 would make reports private
        with open(fd, mode, **open_args) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with replacing(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def save_figure(fig: Any, path: str | Path, **savefig_args: Any) -> None:
    """Save a matplotlib figure to ``path`` atomically, in the format its suffix names."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    with replacing(path) as fh:
        fig.savefig(fh, format=fmt, **savefig_args)
