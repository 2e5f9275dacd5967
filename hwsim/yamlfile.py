"""Find config files by name, and read YAML documents so that every failure is one message
naming the file.

A config is found (:func:`find_config_file`) as an existing path, used as given, or as a bare
name ``x`` looked up as ``x.yaml`` (under a table's subfolder such as ``energy/``) in, in
order, the directories listed in the ``SYSTOLAB_CONFIGS`` environment variable
(``os.pathsep``-separated) and the repository's ``configs/`` directory next to the ``hwsim``
package.

``read_yaml`` turns an unreadable file or malformed YAML into the caller's error type (with
the line and column of the problem); ``build_from_yaml`` also prefixes the errors of the
loader that validates the document with the file's name. Every YAML loader in the project
(arch configs, energy, area and resource tables, policy files) goes through here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hwsim.errors import ConfigError, SystolabError

__all__ = ["build_from_yaml", "config_dirs", "find_config_file", "read_yaml"]

T = TypeVar("T")
_REPO_CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def config_dirs() -> list[Path]:
    """Directories searched for named configs, in order (see the module doc)."""
    dirs = [Path(p) for p in os.environ.get("SYSTOLAB_CONFIGS", "").split(os.pathsep) if p]
    return [*dirs, _REPO_CONFIGS]


def find_config_file(name_or_path: str | Path, subdir: str = "", base: Path | None = None) -> Path:
    """Resolve a config path or a shipped config name (``"edge_int8"``) to a file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    roots = ([base] if base is not None else []) + config_dirs()
    tried = [(r / subdir if subdir else r) / f"{name_or_path}.yaml" for r in roots]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    what = f"{subdir} table" if subdir else "config"
    raise ConfigError(
        f"{what} must be a YAML path or a known name, not {str(name_or_path)!r} "
        f"(looked in: {', '.join(str(t.parent) for t in tried)})"
    )


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
