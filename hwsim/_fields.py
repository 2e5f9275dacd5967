"""Typed field readers for the YAML loaders (one place that knows how to say "must be").

A :class:`Section` wraps one mapping of a YAML document together with its dotted path, checks
that it has no unknown keys, and reads typed fields. Every failure raises
:class:`~hwsim.errors.ConfigError` in the project's one message form::

    <field path> must be <expectation>, not <value!r>

Only :mod:`hwsim.config` and :mod:`hwsim.resources` use it; past the loaders nothing is a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hwsim.errors import ConfigError

__all__ = ["Section"]

_MISSING = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Section:
    """One mapping of a config document, with its dotted path for error messages.

    >>> s = Section({"rows": 16}, "array", allowed=("rows", "cols"))
    >>> s.pos_int("rows")
    16
    >>> s.pos_int("cols")
    Traceback (most recent call last):
    ...
    hwsim.errors.ConfigError: array.cols is required (a positive integer)
    """

    def __init__(self, data: Any, path: str, allowed: Iterable[str]) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path or 'the document'} must be a mapping, not {data!r}")
        self.data = data
        self.path = path
        self.allowed = tuple(allowed)
        for key in data:
            if key not in self.allowed:
                where = path or "the document"
                raise ConfigError(
                    f"{where}: unknown key {key!r} (expected one of: {', '.join(self.allowed)})"
                )

    def field(self, key: str) -> str:
        """The dotted path of ``key`` in this section."""
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def _get(self, key: str, expectation: str, default: Any) -> Any:
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is not _MISSING:
            return default
        raise ConfigError(f"{self.field(key)} is required ({expectation})")

    def fail(self, key: str, expectation: str, value: Any) -> ConfigError:
        return ConfigError(f"{self.field(key)} must be {expectation}, not {value!r}")

    def pos_int(self, key: str, default: Any = _MISSING) -> int:
        value = self._get(key, "a positive integer", default)
        if not _is_int(value) or value <= 0:
            raise self.fail(key, "a positive integer", value)
        return int(value)

    def nonneg_int(self, key: str, default: Any = _MISSING) -> int:
        value = self._get(key, "a non-negative integer", default)
        if not _is_int(value) or value < 0:
            raise self.fail(key, "a non-negative integer", value)
        return int(value)

    def pos_float(self, key: str, default: Any = _MISSING) -> float:
        value = self._get(key, "a positive number", default)
        if not _is_number(value) or value <= 0:
            raise self.fail(key, "a positive number", value)
        return float(value)

    def nonneg_float(self, key: str, default: Any = _MISSING) -> float:
        value = self._get(key, "a non-negative number", default)
        if not _is_number(value) or value < 0:
            raise self.fail(key, "a non-negative number", value)
        return float(value)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, "true or false", default)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def string(self, key: str, default: Any = _MISSING) -> str:
        value = self._get(key, "a string", default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, "a non-empty string", value)
        return value

    def choice(self, key: str, choices: Iterable[str], default: Any = _MISSING) -> str:
        options = tuple(choices)
        expectation = "one of " + ", ".join(repr(c) for c in options)
        value = self._get(key, expectation, default)
        if value not in options:
            raise self.fail(key, expectation, value)
        return str(value)

    def choices(self, key: str, choices: Iterable[str]) -> tuple[str, ...]:
        options = tuple(choices)
        expectation = "a non-empty list of " + ", ".join(repr(c) for c in options)
        value = self._get(key, expectation, _MISSING)
        if not isinstance(value, list) or not value or any(v not in options for v in value):
            raise self.fail(key, expectation, value)
        if len(set(value)) != len(value):
            raise self.fail(key, "a list without repeats", value)
        return tuple(str(v) for v in value)

    def section(self, key: str, allowed: Iterable[str]) -> Section:
        value = self._get(key, "a mapping", _MISSING)
        return Section(value, self.field(key), allowed)

    def sections(self, key: str, allowed: Iterable[str]) -> list[Section]:
        value = self._get(key, "a non-empty list of mappings", _MISSING)
        if not isinstance(value, list) or not value:
            raise self.fail(key, "a non-empty list of mappings", value)
        return [Section(v, f"{self.field(key)}[{i}]", allowed) for i, v in enumerate(value)]
