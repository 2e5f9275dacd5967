"""Worker processes on this machine, for the searches and tables that spread over cores.

Workers are spawned, not forked: they inherit nothing from a parent that imported torch or
started threads (a progress bar's monitor), and import only what their task needs. What they
work on travels as bytes (:func:`pack`): once, to the pool's initializer, or with every task
under its :func:`digest`, unpickled once per worker (:func:`unpacked`). A worker dies with
its parent, however the parent dies, and leaves Ctrl-C to it.
"""

from __future__ import annotations

import copyreg
import ctypes
import hashlib
import io
import multiprocessing
import os
import pickle
import signal
import sys
import types
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["digest", "pack", "spawn_pool", "unpacked"]


def _mappingproxy(data: dict[str, Any]) -> types.MappingProxyType[str, Any]:
    return types.MappingProxyType(data)


def pack(obj: object) -> bytes:
    """Pickle ``obj``, including the read-only ``MappingProxyType`` attributes of IR ops and
    policies (which plain pickle refuses), without changing pickling for anyone else."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table,
                              types.MappingProxyType: lambda m: (_mappingproxy, (dict(m),))}
    pickler.dump(obj)
    return buf.getvalue()


def digest(blob: bytes) -> str:
    """The name a packed object travels under with each task."""
    return hashlib.sha256(blob).hexdigest()


_UNPACKED: dict[str, Any] = {}  # per worker process: the object its tasks work on, by digest


def unpacked(name: str, blob: bytes) -> Any:
    """In a worker: the object ``blob`` packs (its :func:`digest` is ``name``), unpickled by
    the first task that brings it; a worker serves one sweep or table at a time."""
    obj = _UNPACKED.get(name)
    if obj is None:
        _UNPACKED.clear()
        obj = _UNPACKED[name] = pickle.loads(blob)
    return obj


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when its parent dies, however it dies (Linux
    ``PR_SET_PDEATHSIG``; elsewhere the pool's own shutdown is all there is)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _init(parent: int, initializer: Callable[..., None] | None,
          initargs: tuple[Any, ...]) -> None:
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if initializer is not None:
        initializer(*initargs)


def spawn_pool(workers: int, initializer: Callable[..., None] | None = None,
               initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each set up by ``initializer(*initargs)``
    (a module-level function; ``initargs`` pickled, so large inputs go as :func:`pack` bytes).

    The processes start at the first ``submit``, which blocks until each has read its
    ``initargs``, after importing what unpickling them needs (a quarter of a second): a
    caller with work of its own sends large inputs with its tasks instead."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init, initargs=(os.getpid(), initializer, initargs))
