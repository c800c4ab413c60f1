"""``TRACEKIT['CELERY']``: what a task's span says of its arguments (never their values)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tracekit.conf.base import Reader

CHECK_IDS = {"ARGS_SUMMARY": "E015"}


@dataclass(frozen=True)
class CelerySettings:
    args_summary: bool = False


def read(r: Reader) -> CelerySettings:
    return CelerySettings(args_summary=r.flag(
        r.section("CELERY"), "ARGS_SUMMARY", CHECK_IDS["ARGS_SUMMARY"],
        "Use True to add argument types (never values) to task spans."))
