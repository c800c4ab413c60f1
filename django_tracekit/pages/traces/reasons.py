"""Why the store kept a trace, as the trace pages say it: every kept trace names a reason
(``Trace.reasons``: ``error``, ``slow``, ``n_plus_one``, ``sample``, see
``destinations/traces``); a row with none is waiting for a part from another process, and a
reason this version does not know (written by another one) reads as unknown, never as a
blank."""

from __future__ import annotations

from typing import NamedTuple

from django.utils.translation import gettext as _


class Reason(NamedTuple):
    key: str  # the stored value ("" for none yet)
    label: str
    title: str  # what it means, for the badge's tooltip
    known: bool


def _known() -> dict[str, tuple[str, str]]:
    return {
        "error": (_("error"), _("An error was recorded in this trace: every trace with an "
                                "error is kept, whole.")),
        "slow": (_("slow"), _("Among the slowest traces of its feature in a 10-minute "
                              "window, chosen when that window ends.")),
        "n_plus_one": (_("N+1"), _("A statement ran again and again under one parent (an "
                                   "N+1 query): the first such trace of its feature in a "
                                   "10-minute window is kept.")),
        "sample": (_("sample"), _("In the store's random sample of the other traces.")),
    }


def kept_reasons(stored: str) -> list[Reason]:
    """The badges of a trace's ``reasons`` column, in stored order; never an empty list."""
    known = _known()
    found = []
    for key in (r.strip() for r in stored.split(",")):
        if not key:
            continue
        if key in known:
            found.append(Reason(key, *known[key], known=True))
        else:
            found.append(Reason(key, _("unknown: %(reason)s") % {"reason": key},
                                _("A reason this version of tracekit does not know (written "
                                  "by another version)."), known=False))
    if not found:
        found.append(Reason("", _("no reason yet"), _(
            "Not kept for a reason of its own yet: another process may still add a part to "
            "this trace (a task it sent, a request it called), which keeps it if that part "
            "fails. Without one it is deleted after about 20 minutes."), known=True))
    return found
