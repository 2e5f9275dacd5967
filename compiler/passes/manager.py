"""Pass infrastructure: a pass is ``Graph -> Graph`` with a one-line contract.

The first line of a pass's docstring is its contract (what it requires and ensures). The
pipeline runner verifies the IR after every pass and names the pass that failed or left the
IR invalid, so a broken pass is found where it breaks, not three passes later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from compiler.errors import PassError
from compiler.ir import Graph, verify
from hwsim.errors import SystolabError

__all__ = ["Pass", "compiler_pass", "run_passes"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pass:
    fn: Callable[[Graph], Graph]
    lowers: bool = False  # after this pass every compute op must have its Gemm view

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def contract(self) -> str:
        return (self.fn.__doc__ or "").strip().splitlines()[0]

    def __call__(self, graph: Graph) -> Graph:
        return self.fn(graph)


def compiler_pass(*, lowers: bool = False) -> Callable[[Callable[[Graph], Graph]], Pass]:
    """Declare a pass. Its function must return a new graph and leave its input untouched."""

    def wrap(fn: Callable[[Graph], Graph]) -> Pass:
        if not (fn.__doc__ or "").strip():
            raise TypeError(f"pass {fn.__name__} needs a docstring whose first line is its contract")
        return Pass(fn, lowers)

    return wrap


def run_passes(graph: Graph, passes: Iterable[Pass], *, check: bool = True) -> Graph:
    """Run ``passes`` in order; verify after each one when ``check`` is set."""
    lowered = False
    for p in passes:
        try:
            graph = p(graph)
        except SystolabError as err:
            raise PassError(f"pass {p.name} failed: {err}") from err
        lowered = lowered or p.lowers
        if check:
            try:
                verify(graph, lowered=lowered)
            except SystolabError as err:
                raise PassError(f"pass {p.name} left the IR invalid: {err}") from err
        log.debug("pass %s: %d ops", p.name, len(graph))
    return graph
