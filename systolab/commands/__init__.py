"""The CLI's commands, one module each, and the options several of them share."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from compiler.mapping.tiling import OBJECTIVES
from hwsim.dataflow import DATAFLOWS

__all__ = ["BATCH", "MAX_PROCESSES", "FiniteFloat", "mapping_options"]

# Bounds of integer options, so that a typo is a usage error rather than a crash deep below
# (torch.set_num_threads(100000) ends the process; an int64 overflow in a tensor view).
BATCH = click.IntRange(1, 10**9)  # samples; tensors are also bounded (compiler.ir)
MAX_PROCESSES = 256  # worker processes or threads: far beyond the cores of one machine


class FiniteFloat(click.FloatRange):
    """A float option that refuses NaN and infinities (which ``click.FloatRange`` lets through:
    every comparison with NaN is false)."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number

    def _describe_range(self) -> str:
        # click's FloatRange shows "[x<=None]" in --help when both bounds are open; say nothing
        if self.min is None and self.max is None:
            return ""
        return super()._describe_range()


def mapping_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--objective`` and ``--dataflow``: what the mapper minimizes per layer, and the
    dataflow it may use (passed to the command as ``objective`` and ``dataflow``)."""
    command = click.option(
        "--dataflow", type=click.Choice([*DATAFLOWS, "auto"]), default="auto",
        show_default=True,
        help="Force one of the arch's dataflows; auto lets the mapper choose per layer.")(command)
    return click.option(
        "--objective", type=click.Choice(OBJECTIVES), default="latency", show_default=True,
        help="What the mapper minimizes per layer: latency, energy, or their product (edp)."
    )(command)
