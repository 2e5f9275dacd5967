"""Errors that reach users.

Every error a user can cause (a bad config, an op the compiler cannot map, a malformed policy)
derives from :class:`SystolabError`; the CLI prints its message and exits non-zero instead of
showing a traceback. It lives in ``hwsim`` because that is the bottom of the import order
(``systolab`` -> ``compiler`` -> ``hwsim``), so every package can raise it.

Messages follow one form: "<what> must be <expectation>, not <value>".
"""

from __future__ import annotations

__all__ = ["ConfigError", "Interrupted", "ProgramError", "SystolabError"]


class SystolabError(Exception):
    """Base of every user-facing error."""


class ConfigError(SystolabError, ValueError):
    """An accelerator, energy or board description is invalid; the message names the field."""


class ProgramError(SystolabError, ValueError):
    """A tile program (or a tile handed to a timing model) is malformed; the message says where."""


class Interrupted(Exception):
    """A long run stopped by Ctrl-C or SIGTERM after its store or checkpoint was left valid;
    the message says what was kept and how to resume. Raised from the ``KeyboardInterrupt``."""
