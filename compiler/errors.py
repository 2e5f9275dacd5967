"""User-facing errors of the compiler; all derive from :class:`hwsim.errors.SystolabError`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from hwsim.errors import SystolabError

__all__ = [
    "IRError",
    "MappingError",
    "PassError",
    "PolicyError",
    "TraceError",
    "UnknownNameError",
    "UnsupportedOpError",
    "closest",
]


class IRError(SystolabError):
    """The IR breaks one of its invariants (see :func:`compiler.ir.verify`)."""


class TraceError(SystolabError):
    """Neither torch.fx nor torch.export could capture the model."""


class UnsupportedOpError(SystolabError):
    """The model uses an op the compiler cannot map; the message names op, node and module."""


class PolicyError(SystolabError):
    """A compression policy file is malformed or names layers the model does not have."""


class MappingError(SystolabError):
    """An op cannot be mapped onto the accelerator (it does not fit, or no unit runs it)."""


class PassError(SystolabError):
    """A compiler pass failed or left the IR invalid; the message names the pass."""


class UnknownNameError(SystolabError, KeyError):
    """A name (model, layer, config) that does not exist; the message lists close ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """'did you mean a, b?' text for error messages (empty when nothing is close)."""
    by_lower = {c.lower(): c for c in candidates}
    matches = [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=n,
                                                              cutoff=0.5)]
    return f" (did you mean {', '.join(repr(m) for m in matches)}?)" if matches else ""
