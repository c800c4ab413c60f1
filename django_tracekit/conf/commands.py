"""``TRACEKIT['COMMANDS']``: ``manage.py`` commands as root spans (docs/commands.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tracekit.conf.base import Reader

CHECK_IDS = {"ENABLED": "E026", "EXCLUDE": "E047"}


@dataclass(frozen=True)
class CommandsSettings:
    enabled: bool = True
    exclude: tuple[str, ...] = ()


def read(r: Reader) -> CommandsSettings:
    values = r.section("COMMANDS")
    return CommandsSettings(
        enabled=r.flag(values, "ENABLED", CHECK_IDS["ENABLED"]),
        exclude=r.names(values, "EXCLUDE", CHECK_IDS["EXCLUDE"],
                        "Use e.g. ['process_queue'] (commands that run for days).",
                        wanted="a list of command names") or (),
    )
