"""What every section of the settings is validated with: one style, one check id per key.

Each section module (``autotrace.py``, ``db.py`` ...) reads its keys through a
:class:`Reader` with one call per key (``flag``, ``number``, ``text``, ``names``) naming the
key's own check id. A call returns the value when it is valid, else the key's default and a
:class:`Problem`: resolution never raises; ``checks.py`` turns the problems into system check
messages and the bootstrap refuses to start tracing while any error-level problem exists
(the application itself keeps running).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Warning

from django_tracekit.conf.defaults import DEFAULTS

#: TRACEKIT is not a dict / a section of it is not a dict / a key nobody knows: structural,
#: not any one key's.
NOT_A_DICT = "E001"
SECTION_NOT_A_DICT = "E002"
UNKNOWN_KEY = "W001"


@dataclass(frozen=True)
class Problem:
    """One invalid or suspicious setting, reported by ``checks.py``."""

    id: str  # "E004" / "W002"; checks.py prefixes "django_tracekit."
    key: str  # "TRACEKIT['SAMPLE_RATE']" or "OTEL_TRACES_SAMPLER_ARG"
    message: str
    hint: str

    @property
    def is_error(self) -> bool:
        return self.id.startswith("E")

    def check_message(self) -> CheckMessage:
        """This problem as a system check message, ``django_tracekit.E0xx``/``W0xx``."""
        level = Error if self.is_error else Warning
        return level(f"{self.key} {self.message}", hint=self.hint,
                     id=f"django_tracekit.{self.id}")


@dataclass(frozen=True)
class Values:
    """One section's given values merged over its defaults (the top level: ``name`` None)."""

    name: str | None
    given: Mapping[str, Any]
    merged: Mapping[str, Any]
    defaults: Mapping[str, Any]

    def where(self, key: str) -> str:
        return f"TRACEKIT[{key!r}]" if self.name is None else f"TRACEKIT[{self.name!r}][{key!r}]"

    def explicit(self, key: str) -> bool:
        """Given in settings with a value (``None`` means "the default")."""
        return self.given.get(key) is not None


def _is_number(value: Any, integer: bool = False) -> bool:
    # bool is an int subclass; True is not a sample rate.
    return not isinstance(value, bool) and isinstance(value, int if integer else (int, float))


class Reader:
    """Collects problems while reading raw settings + env, one key at a time."""

    def __init__(self, raw: Any, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[Problem] = []
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.report(NOT_A_DICT, "TRACEKIT", f"must be a dict, got {type(raw).__name__}.",
                        "Set TRACEKIT = {...} in your settings, or remove it to use defaults.")
            raw = {}
        self.raw: Mapping[str, Any] = raw
        self._warn_unknown_keys(raw, DEFAULTS, "TRACEKIT")
        self.top = Values(None, raw, {**DEFAULTS, **raw}, DEFAULTS)

    def report(self, id: str, key: str, message: str, hint: str) -> None:
        """Record a problem; its id's letter (E/W) carries the level."""
        self.problems.append(Problem(id, key, message, hint))

    def _warn_unknown_keys(self, given: Mapping[str, Any], known: Mapping[str, Any],
                           where: str) -> None:
        for key in given:
            if key not in known:
                close = difflib.get_close_matches(str(key), list(known), n=1)
                hint = f"Did you mean '{close[0]}'?" if close else (
                    f"Known keys: {', '.join(sorted(known))}.")
                self.report(UNKNOWN_KEY, f"{where}[{key!r}]",
                            "is not a known setting; it is ignored.", hint)

    def section(self, name: str) -> Values:
        """``TRACEKIT[name]`` merged over its defaults (a non-dict: the defaults, reported)."""
        defaults: dict[str, Any] = DEFAULTS[name]
        given = self.raw.get(name)
        if given is None:
            given = {}
        if not isinstance(given, Mapping):
            self.report(SECTION_NOT_A_DICT, f"TRACEKIT[{name!r}]",
                        f"must be a dict, got {type(given).__name__} ({given!r}).",
                        f"Use e.g. {{{', '.join(f'{k!r}: ...' for k in defaults)}}}.")
            given = {}
        self._warn_unknown_keys(given, defaults, f"TRACEKIT[{name!r}]")
        return Values(name, given, {**defaults, **given}, defaults)

    # -- the validators: each key is read by exactly one of these, with its own id --------
    def invalid(self, values: Values, key: str, id: str, wanted: str, hint: str) -> Any:
        """Report ``values[key]`` as not ``wanted``; its default instead (also for a key no
        validator below fits, such as LOGS['LEVEL'])."""
        value = values.merged[key]
        self.report(id, values.where(key), f"must be {wanted}, got {value!r}.", hint)
        return values.defaults[key]

    def flag(self, values: Values, key: str, id: str, hint: str = "") -> bool:
        value = values.merged[key]
        if isinstance(value, bool):
            return value
        return bool(self.invalid(values, key, id, "True or False",
                                  hint or "Use True or False (the default: "
                                  f"{values.defaults[key]})."))

    def number(self, values: Values, key: str, id: str, *, integer: bool = False,
               low: float = 0.0, high: float | None = None,
               low_inclusive: bool = False) -> float:
        """A number in range (``> low`` unless ``low_inclusive``; ``<= high``)."""
        value = values.merged[key]
        if _is_number(value, integer) and (
                value >= low if low_inclusive else value > low) and (
                high is None or value <= high):
            return float(value)
        bound = f">= {low:g}" if low_inclusive else f"> {low:g}"
        wanted = f"{'an int' if integer else 'a number'} {bound}" + (
            f" and <= {high:g}" if high is not None else "")
        return float(self.invalid(values, key, id, wanted,
                                   f"Use e.g. {values.defaults[key]!r}."))

    def text(self, values: Values, key: str, id: str, hint: str,
             valid: Callable[[str], bool] | None = None, wanted: str = "a str") -> str | None:
        """A string (``valid`` if given), or ``None`` where the default is ``None``."""
        value = values.merged[key]
        if value is None and values.defaults[key] is None:
            return None
        if isinstance(value, str) and (valid is None or valid(value)):
            return value
        default = self.invalid(values, key, id, wanted, hint)
        return None if default is None else str(default)

    def names(self, values: Values, key: str, id: str, hint: str, *,
              allow_none: bool = False, wanted: str = "a list of str",
              valid: Callable[[str], bool] | None = None,
              non_empty: bool = False) -> tuple[str, ...] | None:
        """A list or tuple of strings (each ``valid``), or ``None`` when ``allow_none``."""
        value = values.merged[key]
        if value is None and allow_none:
            return None
        if (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
                and (valid is None or all(valid(v) for v in value))
                and (value or not non_empty)):
            return tuple(value)
        default = self.invalid(values, key, id, wanted, hint)
        return None if default is None else tuple(default)


def env_flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def valid_url(url: str, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in schemes and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:
        return False
