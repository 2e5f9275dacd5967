"""Read YAML documents so that every failure is one message naming the file.

``read_yaml`` turns an unreadable file or malformed YAML into the caller's error type (with
the line and column of the problem); ``build_from_yaml`` also prefixes the errors of the
loader that validates the document with the file's name. Every YAML loader in the project
(arch configs, energy, area and resource tables, policy files) goes through here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hwsim.errors import ConfigError, SystolabError

__all__ = ["build_from_yaml", "read_yaml"]

T = TypeVar("T")


def read_yaml(path: str | Path, what: str = "config file",
              error: type[SystolabError] = ConfigError) -> Any:
    """The parsed document at ``path`` (None for an empty file)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise error(f"cannot read {what} {str(path)!r}: {err.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise error(f"{what} {str(path)!r} is not valid YAML: {where}{err.problem}") from None
    except yaml.YAMLError as err:
        raise error(f"{what} {str(path)!r} is not valid YAML: {' '.join(str(err).split())}") \
            from None


def build_from_yaml(path: str | Path, build: Callable[[Any], T],
                    what: str = "config file") -> T:
    """``build(document)``, with the file's name in front of any :class:`ConfigError`."""
    data = read_yaml(path, what)
    try:
        return build(data)
    except ConfigError as err:
        raise ConfigError(f"{Path(path).name}: {err}") from None
