"""Errors of the policy-search support; all derive from :class:`hwsim.errors.SystolabError`."""

from __future__ import annotations

from hwsim.errors import SystolabError

__all__ = ["EvaluatorError", "TaskError"]


class TaskError(SystolabError):
    """An accuracy task cannot run: unknown name, data file missing or corrupted."""


class EvaluatorError(SystolabError):
    """A user evaluator (``module:function``) cannot be loaded or returned no score."""
