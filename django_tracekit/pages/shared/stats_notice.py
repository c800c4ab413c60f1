"""What the usage pages say when some numbers are not kept in this database: the stats off
with metrics on (nothing new recorded here), or ``STATS['KINDS']`` leaving kinds out (e.g.
auto-traced functions): which numbers, and where they live instead (docs/metrics.md)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_tracekit.conf import Config
from django_tracekit.conf.metrics import destination
from django_tracekit.core.features import FUNCTION, KINDS

_PLURALS = {"request": gettext_lazy("Requests"), "task": gettext_lazy("Tasks"),
            "command": gettext_lazy("Commands"), "function": gettext_lazy("Functions")}
_METRICS = "traces.span.metrics.calls, traces.span.metrics.duration"


def _where(config: Config) -> str:
    return destination(config.metrics, config.otlp_endpoint, config.otlp_protocol, os.environ)


def left_out(config: Config, kinds: Iterable[str] = KINDS) -> list[str]:
    """Of ``kinds``, those the database does not count now: all of them with the stats off
    and metrics on, else those ``STATS['KINDS']`` leaves out. (Stats and metrics both off:
    none — a test run's settings; the pages show what the database holds.)"""
    if not config.stats.enabled:
        return list(kinds) if config.metrics.enabled else []
    return [kind for kind in kinds if kind not in config.stats.kinds]


def functions_untold(config: Config) -> bool:
    """The unused-code page cannot tell which functions ran: function calls are not counted
    in this database."""
    return bool(left_out(config, (FUNCTION,)))


def stats_notice(config: Config, kinds: Iterable[str] = KINDS) -> str | None:
    """One sentence or two for the top of a page showing ``kinds`` when some of their numbers
    are not kept in this database; else ``None``."""
    if not config.stats.enabled:
        if not config.metrics.enabled:
            return None
        return _("TRACEKIT['STATS'] is off: feature usage is not recorded in this database. "
                 "Calls and durations per feature are exported as metrics "
                 "(%(metrics)s) to %(where)s: read them there "
                 "(docs/grafana/tracekit-dashboard.json). What is shown here is from before "
                 "the stats were turned off.") % {"metrics": _METRICS, "where": _where(config)}
    missing = left_out(config, kinds)
    if not missing:
        return None
    said = [_("%(names)s: not counted in this database (TRACEKIT['STATS']['KINDS'] is "
              "%(kinds)s).") % {"names": _names(missing), "kinds": ", ".join(config.stats.kinds)}]
    exported = [k for k in missing if config.metrics.enabled and k in config.metrics.kinds]
    rest = [k for k in missing if k not in exported]
    if exported:
        said.append(_("%(names)s: calls and durations are exported as metrics (%(metrics)s) "
                      "to %(where)s: read them there (docs/grafana/tracekit-dashboard.json).")
                    % {"names": _names(exported), "metrics": _METRICS, "where": _where(config)})
    if rest:
        why = (_("TRACEKIT['METRICS']['KINDS'] leaves them out") if config.metrics.enabled
               else _("TRACEKIT['METRICS'] is off"))
        said.append(_("%(names)s: not exported as metrics either (%(why)s): counted nowhere.")
                    % {"names": _names(rest), "why": why})
    said.append(_("Their numbers shown here are from before they were left out."))
    return " ".join(said)


def _names(kinds: list[str]) -> str:
    return ", ".join(str(_PLURALS.get(kind, kind)) for kind in kinds)
