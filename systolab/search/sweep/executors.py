"""Where points are evaluated: a local process pool, a Ray cluster, or this process.

Every executor gets the sweep :class:`~systolab.search.sweep.evaluate.Context` once, as bytes
(:func:`systolab.search.workers.pack`): the workloads' lowered IR graphs are traced in the
parent and shipped, not re-traced per worker. Workers are long-lived, so the per-layer caches
of the mapper (``compiler.mapping.map_gemm``) and the engine (``hwsim.engine``) persist across the points a
worker evaluates; their keys hold the full layer and :class:`Arch` (whose name
:func:`~systolab.search.sweep.points.to_arch` keeps constant), so a hit is always valid: repeated layer
shapes, workloads that share layers, and co-design policies that share layers' bits.

An executor yields results as they finish, in any order; the runner orders them by ``seq``,
so every executor produces the same store and the same front.
"""

from __future__ import annotations

import pickle
import socket
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, as_completed
from typing import Any, Protocol

from hwsim.engine import no_cyclic_gc
from hwsim.errors import SystolabError
from hwsim.fields import shown
from systolab.search.sweep.evaluate import Context, PointResult, evaluate_point
from systolab.search.sweep.points import Point
from systolab.search.workers import digest, spawn_pool, unpacked

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "SerialExecutor",
           "make_executor"]

Task = tuple[int, Point]



class Executor(Protocol):
    def run(self, tasks: Iterable[Task]) -> Iterator[PointResult]:
        """Evaluate ``tasks``; yield each result as it finishes."""
        ...

    def close(self) -> None:
        """Cancel what is pending and release the workers."""
        ...


class SerialExecutor:
    """In this process, one point after another (debugging, tiny sweeps, ``--workers 0``)."""

    def __init__(self, blob: bytes) -> None:
        self._ctx: Context = pickle.loads(blob)

    def run(self, tasks: Iterable[Task]) -> Iterator[PointResult]:
        for seq, point in tasks:
            yield evaluate_point(seq, point, self._ctx)

    def close(self) -> None:
        pass


_WORKER_CTX: list[Context] = []


def _init_local(blob: bytes) -> None:
    _WORKER_CTX[:] = [pickle.loads(blob)]


def _in_worker(seq: int, point: Point, ctx: Context) -> PointResult:
    """:func:`evaluate_point` in a worker process, which does nothing else: a point that only
    maps and simulates runs with the cyclic collector paused, and what it leaves alive (the
    per-layer caches) is frozen out of later collections (:class:`hwsim.engine.no_cyclic_gc`;
    20% of a ResNet-18 sweep's time went to collections walking those caches). A point that
    measures accuracy (co-design with a task) trains with torch, which makes reference
    cycles, and keeps the collector."""
    if ctx.sensitivities:
        return evaluate_point(seq, point, ctx)
    with no_cyclic_gc(freeze=True):
        return evaluate_point(seq, point, ctx)


def _local_task(seq: int, point: Point) -> PointResult:
    return _in_worker(seq, point, _WORKER_CTX[0])


class LocalExecutor:
    """A pool of ``workers`` processes on this machine (spawned: no state inherited from a
    parent that imported torch). Workers die with the sweep's process, even a killed one, and
    leave Ctrl-C to it."""

    def __init__(self, blob: bytes, workers: int) -> None:
        self._pool = spawn_pool(workers, _init_local, (blob,))

    def run(self, tasks: Iterable[Task]) -> Iterator[PointResult]:
        futures: list[Future[PointResult]] = [self._pool.submit(_local_task, s, p)
                                              for s, p in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _ray_task(seq: int, point: Point, name: str, blob: bytes) -> PointResult:
    return _in_worker(seq, point, unpacked(name, blob))


CONNECT_TIMEOUT_S = 30.0


def _check_reachable(address: str, timeout: float) -> None:
    """Fail within ``timeout`` seconds, naming the address, when nothing answers at a Ray
    cluster address (``ray.init`` itself retries for minutes). ``auto`` is Ray's to resolve."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise SystolabError(f"--address must be host:port, ray://host:port or auto, not "
                            f"{address[:100]!r}")
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout).close()
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise SystolabError(f"the Ray cluster at --address {address!r} does not answer within "
                            f"{timeout:g} s ({reason}): check the address and that the cluster "
                            "is up (--connect-timeout sets the wait)") from None


class RayExecutor:
    """Ray tasks, one per point, on the cluster at ``address`` or on a local Ray instance
    with ``workers`` CPUs. With an address, the ``hwsim``, ``compiler`` and ``systolab``
    packages are shipped to the cluster (``runtime_env.py_modules``), so nodes need only the
    dependencies, not this checkout."""

    def __init__(self, blob: bytes, workers: int, address: str | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        if address:
            _check_reachable(address, connect_timeout)
        try:
            import ray
        except ImportError:
            raise SystolabError("--executor ray needs Ray: pip install 'systolab[distributed]'") \
                from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            if address:
                import compiler
                import hwsim
                import systolab

                try:
                    ray.init(address=address, log_to_driver=False,
                             runtime_env={"py_modules": [hwsim, compiler, systolab]})
                except (ConnectionError, RuntimeError, ValueError) as err:
                    raise SystolabError(f"cannot join the Ray cluster at --address {address!r}: "
                                        f"{str(err).splitlines()[0][:200]}") from None
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        self._digest = digest(blob)
        self._blob = ray.put(blob)
        self._remote = ray.remote(num_cpus=1)(_ray_task)
        self._pending: list[Any] = []

    def run(self, tasks: Iterable[Task]) -> Iterator[PointResult]:
        ray = self._ray
        self._pending = [self._remote.remote(s, p, self._digest, self._blob) for s, p in tasks]
        while self._pending:
            done, self._pending = ray.wait(self._pending, num_returns=1)
            yield ray.get(done[0])

    def close(self) -> None:
        for ref in self._pending:
            self._ray.cancel(ref, force=True)
        self._pending = []
        if self._owns:
            self._ray.shutdown()


EXECUTORS = ("local", "ray")


def make_executor(kind: str, blob: bytes, workers: int, address: str | None = None,
                  connect_timeout: float = CONNECT_TIMEOUT_S) -> Executor:
    """``local`` (process pool; ``workers == 0`` evaluates in this process) or ``ray``
    (joining the cluster at ``address`` fails after ``connect_timeout`` seconds without an
    answer)."""
    if kind == "local":
        if address:
            raise SystolabError("--address is for --executor ray, not local")
        return SerialExecutor(blob) if workers == 0 else LocalExecutor(blob, workers)
    if kind == "ray":
        return RayExecutor(blob, max(workers, 1), address, connect_timeout)
    raise SystolabError(f"executor must be one of {', '.join(EXECUTORS)}, not {shown(kind)}")
