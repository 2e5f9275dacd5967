"""Find config files by name, and read YAML documents so that every failure is one message
naming the file.

A config is found (:func:`find_config_file`) as an existing path, used as given, or as a bare
name ``x`` looked up as ``x.yaml`` (under a table's subfolder such as ``energy/``) in, in
order, the directories listed in the ``SYSTOLAB_CONFIGS`` environment variable
(``os.pathsep``-separated) and the repository's ``configs/`` directory next to the ``hwsim``
package.

``read_yaml`` turns an unreadable file or malformed YAML into the caller's error type (with
the line and column of the problem), as ``read_text`` does for the other text configs (SCALE-Sim
CSV and INI files); ``build_from_yaml`` also prefixes the errors of the
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
from hwsim.fields import shown

__all__ = ["build_from_yaml", "config_dirs", "find_config_file", "read_bytes", "read_text",
           "read_yaml"]

T = TypeVar("T")
_REPO_CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def config_dirs() -> list[Path]:
    """Directories searched for named configs, in order (see the module doc)."""
    dirs = [Path(p) for p in os.environ.get("SYSTOLAB_CONFIGS", "").split(os.pathsep) if p]
    return [*dirs, _REPO_CONFIGS]


def find_config_file(name_or_path: str | Path, subdir: str = "", base: Path | None = None) -> Path:
    """Resolve a config path or a shipped config name (``"edge_int8"``) to a file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and _is_file(path):
        return path
    roots = ([base] if base is not None else []) + config_dirs()
    tried = [(r / subdir if subdir else r) / f"{name_or_path}.yaml" for r in roots]
    for candidate in tried:
        if _is_file(candidate):
            return candidate
    what = f"{subdir} table" if subdir else "config"
    raise ConfigError(
        f"{what} must be a YAML path or a known name, not {shown(str(name_or_path))} "
        f"(looked in: {', '.join(str(r / subdir if subdir else r) for r in roots)})"
    )


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system, say: not a config either
        return False


MAX_BYTES = 16 * 2**20  # config files are kilobytes; /dev/zero is not a config
MAX_VALUES = 10**6  # values in a document with every alias expanded (alias bombs)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (where PyYAML keeps the
    last one without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict) or key in seen:
                problem = (f"key {key!r} appears twice in this mapping" if key in seen
                           else "a mapping key must be a scalar")
                raise yaml.constructor.ConstructorError(None, None, problem,
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_values(node: yaml.Node, memo: dict[int, int]) -> int:
    """Values in ``node`` with aliases expanded: an alias is the node it names, so shared
    subtrees are counted once per reference (memoized by node, so this is linear)."""
    size = memo.get(id(node))
    if size is None:
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(_expanded_values(n, memo) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(_expanded_values(k, memo) + _expanded_values(v, memo)
                        for k, v in node.value)
        memo[id(node)] = size
    return size


def _parse(data: bytes, what: str, path: Path, error: type[SystolabError]) -> Any:
    loader = _Loader(data)  # bytes: PyYAML detects UTF-8 or a UTF-16 byte-order mark
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_values(node, {}) > MAX_VALUES:
            raise error(f"{what} {str(path)!r} expands to more than {MAX_VALUES:,} values "
                        "(YAML aliases referring to aliases): a config file is far smaller")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_bytes(path: Path, what: str, error: type[SystolabError], kind: str) -> bytes:
    """The bytes of a config file of ``kind`` ("YAML", "CSV"), at most :data:`MAX_BYTES`:
    an unreadable file, or one that never ends (``/dev/zero``), is one message."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as err:
        raise error(f"cannot read {what} {str(path)!r}: {err.strerror}") from None
    if len(data) > MAX_BYTES:
        raise error(f"{what} {str(path)!r} must be at most {MAX_BYTES // 2**20} MiB of {kind}")
    return data


def read_text(path: str | Path, what: str, error: type[SystolabError], kind: str) -> str:
    """A UTF-8 text config file (CSV, INI) as :func:`read_bytes` reads it, decoded; text in
    another encoding is one message giving the first byte that cannot be decoded."""
    path = Path(path)
    data = read_bytes(path, what, error, kind)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(f"{what} {str(path)!r} must be UTF-8 text, but byte {err.start} cannot be "
                    f"decoded ({err.reason})") from None


def read_yaml(path: str | Path, what: str = "config file",
              error: type[SystolabError] = ConfigError) -> Any:
    """The parsed document at ``path`` (None for an empty file). Refused, each with one
    message naming the file: unreadable files, files over 16 MiB, text that is neither UTF-8
    nor UTF-16, malformed YAML (with line and column), a key given twice, nesting deeper than
    the parser can follow, and alias bombs."""
    path = Path(path)
    data = read_bytes(path, what, error, "YAML")
    try:
        return _parse(data, what, path, error)
    except RecursionError:
        raise error(f"{what} {str(path)!r} is nested too deeply to read") from None
    except yaml.reader.ReaderError as err:
        raise error(f"{what} {str(path)!r} must be UTF-8 (or UTF-16) text, but byte "
                    f"{err.position} cannot be decoded ({err.reason})") from None
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
