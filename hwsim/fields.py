"""Checked fields: one place that knows how to say "must be", for records and YAML loaders.

Every check raises :class:`~hwsim.errors.ConfigError` in the project's one message form::

    <field path> must be <expectation>, not <value!r>

A record (:mod:`hwsim.config`, :mod:`hwsim.memory`) declares the :class:`Check` of each of
its fields once, in ``CHECKS``, and runs them in ``__post_init__`` (:func:`check_fields`) with
its section's path (``array.rows``), so a record built by hand or by ``dataclasses.replace``
is checked as one read from YAML is. The loaders read a record's fields from a YAML mapping
with :func:`read_record`, which knows nothing of the rules: the record checks what it gets.
A :class:`Section` wraps one mapping of a YAML document with its dotted path, refuses unknown
keys and reads typed fields through the same checks.

>>> positive_int("array.rows", 16)
16
>>> positive_int("array.rows", -4)
Traceback (most recent call last):
...
hwsim.errors.ConfigError: array.rows must be a positive integer, not -4
>>> positive_number("dram.bw_gbps", float("nan"))
Traceback (most recent call last):
...
hwsim.errors.ConfigError: dram.bw_gbps must be a positive number, not nan
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from hwsim.errors import ConfigError

__all__ = ["BOOLEAN", "NONNEGATIVE_NUMBER", "POSITIVE_INT", "POSITIVE_NUMBER", "STRING", "Check",
           "Checked", "Section", "boolean", "check_fields", "distinct_choices", "fail",
           "instance_of", "keys_of", "nested", "nonempty_string", "nonnegative_int",
           "nonnegative_number", "one_of", "positive_int", "positive_number", "read_record", "shown",
           "within"]

_MISSING = object()
R = TypeVar("R")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A real, finite number (not a bool): NaN and infinity are never a valid quantity."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


MAX_SHOWN = 80  # characters of a bad value an error message shows: values can be huge


def shown(value: Any) -> str:
    """``repr(value)``, cut to :data:`MAX_SHOWN` characters: a message never prints an
    unbounded value (a 10 MB string, an alias-expanded list)."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN - 3]}..."


def fail(path: str, expectation: str, value: Any) -> ConfigError:
    """The error for ``path`` holding ``value`` where ``expectation`` was needed."""
    return ConfigError(f"{path} must be {expectation}, not {shown(value)}")


def positive_int(path: str, value: Any) -> int:
    if not _is_int(value) or value <= 0:
        raise fail(path, "a positive integer", value)
    return int(value)


def nonnegative_int(path: str, value: Any) -> int:
    if not _is_int(value) or value < 0:
        raise fail(path, "a non-negative integer", value)
    return int(value)


def positive_number(path: str, value: Any) -> float:
    if not _is_number(value) or value <= 0:
        raise fail(path, "a positive number", value)
    return float(value)


def nonnegative_number(path: str, value: Any) -> float:
    if not _is_number(value) or value < 0:
        raise fail(path, "a non-negative number", value)
    return float(value)


def boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(path, "true or false", value)
    return value


def nonempty_string(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise fail(path, "a non-empty string", value)
    return value


def one_of(path: str, value: Any, options: Iterable[str]) -> str:
    choices = tuple(options)
    if value not in choices:
        raise fail(path, "one of " + ", ".join(repr(c) for c in choices), value)
    return str(value)


def distinct_choices(path: str, value: Any, options: Iterable[str]) -> tuple[str, ...]:
    """A non-empty sequence of distinct names from ``options``, as a tuple."""
    choices = tuple(options)
    expectation = "a non-empty list of " + ", ".join(repr(c) for c in choices)
    if not isinstance(value, list | tuple) or not value or any(v not in choices for v in value):
        raise fail(path, expectation, value if not isinstance(value, tuple) else list(value))
    if len(set(value)) != len(value):
        raise fail(path, "a list without repeats", list(value))
    return tuple(str(v) for v in value)


def instance_of(path: str, value: Any, cls: type) -> Any:
    """``value`` if it is a ``cls`` (a record nested in another)."""
    if not isinstance(value, cls):
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        raise fail(path, f"{article} {cls.__name__}", value)
    return value


@dataclass(frozen=True, slots=True)
class Check:
    """How one field is checked: its expectation (for "is required" messages) and the test,
    ``test(path, value)``, which returns the value normalized (``5`` -> ``5.0`` for a
    number) or raises."""

    expectation: str
    test: Callable[[str, Any], Any]


def _number(x: float) -> str:
    """``1,048,576`` for whole numbers, ``0.01`` otherwise."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def within(base: Check, low: float | None, high: float, why: str) -> Check:
    """``base`` (an integer or number check) also bounded to ``low <= value <= high``:
    limits well beyond any real device, so that a typo (``clock_mhz: 1e-300``, ``cols:
    1e12``) is an error instead of an infinite or absurd result. ``why`` says where the
    limits come from; the message states both."""
    bounds = f"from {_number(low)} to {_number(high)}" if low is not None \
        else f"at most {_number(high)}"
    expectation = f"{base.expectation} {bounds}"

    def test(path: str, value: Any) -> Any:
        checked = base.test(path, value)
        if (low is not None and checked < low) or checked > high:
            raise fail(path, f"{expectation} ({why})", value)
        return checked

    return Check(expectation, test)


POSITIVE_INT = Check("a positive integer", positive_int)
POSITIVE_NUMBER = Check("a positive number", positive_number)
NONNEGATIVE_NUMBER = Check("a non-negative number", nonnegative_number)
BOOLEAN = Check("true or false", boolean)
STRING = Check("a string", nonempty_string)


class Checked:
    """Base of records that check their fields when built: a subclass (a frozen dataclass)
    declares ``CHECKS`` and a ``where: InitVar[str]`` defaulting to its section's path; one
    with rules across fields extends ``__post_init__``."""

    __slots__ = ()
    CHECKS: ClassVar[dict[str, Check]] = {}

    def __post_init__(self, where: str) -> None:
        check_fields(self, where, self.CHECKS)


def nested(cls: type, *, optional: bool = False, expectation: str = "a mapping") -> Check:
    """The check of a field holding a ``cls`` record (or ``None`` when ``optional``)."""
    def test(path: str, value: Any) -> Any:
        return value if optional and value is None else instance_of(path, value, cls)
    return Check(expectation, test)


def check_fields(record: Any, where: str, checks: Mapping[str, Check]) -> None:
    """Check (and normalize, in place) the fields of a frozen record named in ``checks``;
    ``where`` is the record's section path (``"array"``) or ``""`` at the top."""
    for name, check in checks.items():
        path = f"{where}.{name}" if where else name
        object.__setattr__(record, name, check.test(path, getattr(record, name)))


def keys_of(cls: Any) -> tuple[str, ...]:
    """The keys a record's section may hold: its fields, in order."""
    return tuple(f.name for f in dataclasses.fields(cls))


def read_record(cls: Callable[..., R], sec: Section, **given: Any) -> R:
    """Build the record ``cls`` from ``sec``: every field not in ``given`` is read raw from
    the document (its default where absent; "is required" where it has none) and the record
    checks the values. ``where`` is the section's path."""
    checks: Mapping[str, Check] = getattr(cls, "CHECKS", {})
    values = dict(given)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in values:
            default = f.default if f.default is not dataclasses.MISSING else _MISSING
            expectation = checks[f.name].expectation if f.name in checks else "a value"
            values[f.name] = sec.get(f.name, expectation, default)
    return cls(**values, where=sec.path)


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

    def get(self, key: str, expectation: str, default: Any = _MISSING) -> Any:
        """The raw value of ``key``, or ``default``; an error naming ``expectation`` when the
        key is missing and there is no default. Records check the value."""
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is not _MISSING:
            return default
        raise ConfigError(f"{self.field(key)} is required ({expectation})")

    def fail(self, key: str, expectation: str, value: Any) -> ConfigError:
        return fail(self.field(key), expectation, value)

    def pos_int(self, key: str, default: Any = _MISSING) -> int:
        return positive_int(self.field(key), self.get(key, "a positive integer", default))

    def nonneg_int(self, key: str, default: Any = _MISSING) -> int:
        return nonnegative_int(self.field(key), self.get(key, "a non-negative integer", default))

    def pos_float(self, key: str, default: Any = _MISSING) -> float:
        return positive_number(self.field(key), self.get(key, "a positive number", default))

    def nonneg_float(self, key: str, default: Any = _MISSING) -> float:
        return nonnegative_number(self.field(key),
                                  self.get(key, "a non-negative number", default))

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        return boolean(self.field(key), self.get(key, "true or false", default))

    def string(self, key: str, default: Any = _MISSING) -> str:
        return nonempty_string(self.field(key), self.get(key, "a string", default))

    def choice(self, key: str, choices: Iterable[str], default: Any = _MISSING) -> str:
        options = tuple(choices)
        expectation = "one of " + ", ".join(repr(c) for c in options)
        return one_of(self.field(key), self.get(key, expectation, default), options)

    def choices(self, key: str, choices: Iterable[str]) -> tuple[str, ...]:
        options = tuple(choices)
        expectation = "a non-empty list of " + ", ".join(repr(c) for c in options)
        value = self.get(key, expectation)
        if not isinstance(value, list):
            raise self.fail(key, expectation, value)
        return distinct_choices(self.field(key), value, options)

    def section(self, key: str, allowed: Iterable[str]) -> Section:
        return Section(self.get(key, "a mapping"), self.field(key), allowed)

    def sections(self, key: str, allowed: Iterable[str]) -> list[Section]:
        value = self.get(key, "a non-empty list of mappings")
        if not isinstance(value, list) or not value:
            raise self.fail(key, "a non-empty list of mappings", value)
        return [Section(v, f"{self.field(key)}[{i}]", allowed) for i, v in enumerate(value)]
