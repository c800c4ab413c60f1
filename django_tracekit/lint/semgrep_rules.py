"""Generates the Semgrep form of the rules (``semgrep/tracekit.yml``) from the catalogue.

The YAML is shipped as package data and checked into the repository; a test asserts it equals
``render()``, so edit the patterns here and regenerate with::

    python -m django_tracekit.lint.semgrep_rules --write

Semgrep has no "innermost function" operator, so "inside a span" is expressed by matching the
span's body as ``$...BODY`` and searching it with ``metavariable-pattern``: inside that
sub-program, ``pattern-not-inside: def ...`` excludes exactly the functions nested in the span.
"Handler neither raises nor records" is a second ``metavariable-pattern`` on the handler body:
a regex that always matches (``\\A\\S``) minus ``pattern-not-inside`` ranges that cover the
whole handler when it contains a ``raise`` or a recording call.
"""

from __future__ import annotations

import json
import sys
from typing import TypeAlias

from . import rules as catalogue
from .engine import EXC_INFO_TRUTHY_RE, LOGGER_RECEIVER_RE
from .rules import SEMGREP_RULES_PATH

Yaml: TypeAlias = "str | list[Yaml] | dict[str, Yaml]"

# ``with X:`` does not match ``with X as y:``, hence both spellings.
_SCOPES = [
    "with django_tracekit.span(...):\n  $...BODY",
    "with django_tracekit.span(...) as $CURRENT:\n  $...BODY",
    "with $TRACER.start_as_current_span(...):\n  $...BODY",
    "with $TRACER.start_as_current_span(...) as $CURRENT:\n  $...BODY",
    "@django_tracekit.traced\ndef $FUNC(...):\n  $...BODY",
    "@django_tracekit.traced(...)\ndef $FUNC(...):\n  $...BODY",
    "@$TRACER.start_as_current_span(...)\ndef $FUNC(...):\n  $...BODY",
]

# A try statement's shape has to be spelled out: a pattern without ``else:``/``finally:`` does
# not match a statement that has them. ``except $EXC:`` also matches ``except* $EXC:``.
_HANDLERS = ["except:", "except $EXC:", "except $EXC as $VAR:"]
_TAILS = ["", "else:\n  ...\n", "finally:\n  ...\n", "else:\n  ...\nfinally:\n  ...\n"]
_TRY_SHAPES = [
    f"try:\n  ...\n{handler}\n  $...HANDLER\n{tail}".rstrip("\n")
    for handler in _HANDLERS
    for tail in _TAILS
]

_RECORDING_CALLS = [
    "django_tracekit.record_error(...)",
    "$SPAN.record_exception(...)",
]
_RAISES = ["raise", "raise $NEW", "raise $NEW from $CAUSE"]
_NOT_IN_NESTED_DEF: dict[str, Yaml] = {"pattern-not-inside": "def $NESTED(...):\n  ..."}


def _anywhere_in_block(stmt: str) -> dict[str, Yaml]:
    # ``...`` before and after: the range spans the whole block (the handler body here),
    # and Semgrep's deep statement matching also finds ``stmt`` inside nested blocks.
    return {"pattern-not-inside": f"...\n{stmt}\n..."}


def _in_span_handlers(handler_filters: list[Yaml]) -> list[Yaml]:
    return [
        {"pattern-either": [{"pattern": scope} for scope in _SCOPES]},
        {
            "metavariable-pattern": {
                "metavariable": "$...BODY",
                "patterns": [
                    {"pattern-either": [{"pattern": shape} for shape in _TRY_SHAPES]},
                    _NOT_IN_NESTED_DEF,
                    {
                        "metavariable-pattern": {
                            "metavariable": "$...HANDLER",
                            "patterns": handler_filters,
                        }
                    },
                ],
            }
        },
    ]


def _metadata(rule: catalogue.Rule) -> dict[str, Yaml]:
    return {
        "rationale": rule.rationale,
        "fix": rule.fix,
        "references": ["https://github.com/django-tracekit/django-tracekit/blob/main/docs/lint.md"],
    }


def _rule(rule: catalogue.Rule, body: dict[str, Yaml]) -> dict[str, Yaml]:
    return {
        "id": rule.id,
        "languages": ["python"],
        "severity": rule.severity,
        "message": rule.message,
        # Only literal names count; a constant defined elsewhere is not "hand-written here",
        # and the ast linter does not propagate constants either.
        "options": {"constant_propagation": "false"},
        **body,
        "metadata": _metadata(rule),
    }


def build() -> dict[str, Yaml]:
    unrecorded = _in_span_handlers(
        [
            {"pattern-regex": r"\A\S"},
            *(_anywhere_in_block(stmt) for stmt in _RAISES + _RECORDING_CALLS),
        ]
    )
    logged = _in_span_handlers(
        [
            {
                "pattern-either": [
                    {"pattern": "$LOGGER.exception(...)"},
                    {
                        "patterns": [
                            {"pattern": "$LOGGER.$METHOD(..., exc_info=$EXC_INFO, ...)"},
                            {
                                "metavariable-regex": {
                                    "metavariable": "$EXC_INFO",
                                    "regex": EXC_INFO_TRUTHY_RE,
                                }
                            },
                        ]
                    },
                ]
            },
            {"metavariable-regex": {"metavariable": "$LOGGER", "regex": LOGGER_RECEIVER_RE}},
            _NOT_IN_NESTED_DEF,
            *(_anywhere_in_block(stmt) for stmt in _RECORDING_CALLS),
        ]
    )
    start = "$SPAN = $TRACER.start_span(...)"
    unended: list[Yaml] = [
        {"pattern": start},
        # Spans stored on attributes (self.span = ...) are handed over to other methods.
        {"metavariable-regex": {"metavariable": "$SPAN", "regex": r"^\w+$"}},
        {"pattern-not-inside": f"{start}\n...\ntry:\n  ...\nfinally:\n  ...\n  $SPAN.end()"},
        {"pattern-not-inside": f"try:\n  ...\n  {start}\n  ...\nfinally:\n  ...\n  $SPAN.end()"},
        {
            "pattern-not-inside": f"{start}\n...\n"
            "with $TRACE.use_span($SPAN, ..., end_on_exit=True, ...):\n  ..."
        },
        {
            "pattern-not-inside": f"{start}\n...\n"
            "with use_span($SPAN, ..., end_on_exit=True, ...):\n  ..."
        },
        {"pattern-not-inside": f"{start}\n...\nwith $SPAN:\n  ..."},
        # Returned (alone or in a tuple with its context token): the caller owns it now.
        {"pattern-not-inside": f"{start}\n...\nreturn <... $SPAN ...>"},
    ]
    literal: list[Yaml] = [
        {"pattern": 'django_tracekit.span("...", ...)'},
        {"pattern": 'django_tracekit.span(..., name="...", ...)'},
        {"pattern": '$TRACER.start_as_current_span("...", ...)'},
        {"pattern": '$TRACER.start_as_current_span(..., name="...", ...)'},
    ]
    return {
        "rules": [
            _rule(
                catalogue.UNRECORDED_EXCEPTION,
                {"patterns": [*unrecorded, {"focus-metavariable": "$...HANDLER"}]},
            ),
            _rule(catalogue.UNENDED_SPAN, {"patterns": unended}),
            _rule(catalogue.LITERAL_SPAN_NAME, {"pattern-either": literal}),
            _rule(
                catalogue.LOG_INSTEAD_OF_RECORD,
                {"patterns": [*logged, {"focus-metavariable": "$LOGGER"}]},
            ),
        ]
    }


def _emit(value: Yaml, indent: int) -> list[str]:
    """A tiny YAML emitter: block mappings/sequences, ``|`` for multi-line strings and
    JSON-quoted scalars (valid YAML) otherwise — enough for rules, no PyYAML needed."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            lines.extend(_emit_entry(f"{pad}{key}:", item, indent))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                sub = _emit(item, indent + 1)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            else:
                lines.extend(_emit_entry(f"{pad}-", item, indent))
    else:
        lines.append(pad + _scalar(value))
    return lines


def _emit_entry(head: str, item: Yaml, indent: int) -> list[str]:
    if isinstance(item, str):
        if "\n" in item:
            body = ["  " * (indent + 1) + line if line else "" for line in item.split("\n")]
            return [f"{head} |", *body]
        return [f"{head} {_scalar(item)}"]
    return [head, *_emit(item, indent + 1)]


def _scalar(value: str) -> str:
    if value in ("false", "true"):
        return value
    return json.dumps(value, ensure_ascii=False)


def render() -> str:
    header = (
        "# Generated by `python -m django_tracekit.lint.semgrep_rules`; do not edit by hand.\n"
        "# Rule reference: docs/lint.md. Same findings as `manage.py tracekit_lint`.\n"
    )
    return header + "\n".join(_emit(build(), 0)) + "\n"


def main() -> None:
    if sys.argv[1:] == ["--write"]:
        SEMGREP_RULES_PATH.write_text(render(), encoding="utf-8")
    else:
        sys.stdout.write(render())


if __name__ == "__main__":
    main()
