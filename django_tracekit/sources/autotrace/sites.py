"""The registry of auto-traced functions (sites) and their per-function counters.

Rewritten code holds its sites' :class:`Counter` objects as module globals
(``_tk_c0``, ``_tk_c1``, ...: indices local to the module, so the rewritten bytecode does
not depend on the process and can be cached) and updates ``n``/``t``/``m`` inline.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from django_tracekit.core import lifecycle, naming


class Counter:
    """Per site: calls, total seconds, max seconds (updated inline by rewritten code);
    and of those, the calls that became spans and their seconds (``k``, ``kt``), so the stats
    pipeline, which counts spans, adds only the calls that did not become one.
    ``site`` is the function it counts; ``name`` its convention name ("" until needed).
    ``under``: (the span name its call was last seen directly under, whether it wraps that
    span's function there): ``calls.push``'s memo, one tuple so threads read both at once
    (see ``wrappers.py``)."""

    __slots__ = ("k", "kt", "m", "n", "name", "site", "t", "under")

    def __init__(self, site: Site) -> None:
        self.n = 0
        self.t = 0.0
        self.m = 0.0
        self.k = 0
        self.kt = 0.0
        self.site = site
        self.name = ""
        self.under: tuple[str | None, bool] = (None, False)

    def load_name(self) -> str:
        name = self.name = self.site.location.name
        return name


@dataclass(eq=False)
class Site:
    """One instrumented function (code location) and its counter."""

    module: str
    qualname: str
    filename: str
    lineno: int
    counter: Counter = field(init=False)
    _location: naming.CodeLocation | None = field(default=None, init=False)
    ran_at_startup: bool = field(default=False, init=False)  # called, not counted as usage

    def __post_init__(self) -> None:
        self.counter = Counter(self)

    @property
    def location(self) -> naming.CodeLocation:
        if self._location is None:
            self._location = naming.location(self.module, self.qualname, self.filename,
                                             self.lineno)
        return self._location


_sites: list[Site] = []
_sites_lock = threading.Lock()


def new_site(module: str, qualname: str, filename: str, lineno: int) -> Site:
    site = Site(module, qualname, filename, lineno)
    with _sites_lock:
        _sites.append(site)
    return site


# Sites by the last part of their qualname (the last segment of their convention name),
# filled as sites are added: which span names are names of instrumented functions.
_by_last: dict[str, list[Site]] = {}
_indexed = [0]
_answers: dict[str, bool] = {}  # per span name, until sites are added (bounded below)


def names_a_site(name: str) -> bool:
    """Whether an instrumented function has the convention name ``name``."""
    if _indexed[0] < len(_sites):
        with _sites_lock:
            for site in _sites[_indexed[0]:]:
                _by_last.setdefault(site.qualname.rpartition(".")[2], []).append(site)
            _indexed[0] = len(_sites)
            _answers.clear()
    answer = _answers.get(name)
    if answer is None:
        answer = any((site.counter.name or site.counter.load_name()) == name
                     for site in _by_last.get(name.rpartition("/")[2], ()))
        if len(_answers) >= 4096:
            _answers.clear()  # span names made up at run time
        _answers[name] = answer
    return answer


def site_count() -> int:
    """How many functions were instrumented in this process (only grows)."""
    return len(_sites)


def instrumented(limit: int = 50_000) -> list[tuple[str, str]]:
    """``(convention name, module)`` of every instrumented function that did not run at
    start-up, once each (at most ``limit``): what the "unused code" page compares with the
    calls counted. A function that ran only while the process started (middleware loading,
    an app's ``ready()``) is not counted as usage, and is not unused code either."""
    started = {site.location.name for site in list(_sites) if site.ran_at_startup}
    seen: dict[str, str] = {}
    for site in list(_sites):
        name = site.location.name
        if name in started:
            continue
        if name not in seen:
            seen[name] = site.module
            if len(seen) >= limit:
                break
    return list(seen.items())


def iter_counts(reset: bool) -> Iterator[tuple[Site, int, float, float, int, float]]:
    """Per site: calls, total s, max s, and of those the calls that became spans, their s."""
    for site in list(_sites):
        c = site.counter
        # No call between the reads and the resets: atomic w.r.t. other threads (3.11+).
        n, t, m, k, kt = c.n, c.t, c.m, c.k, c.kt
        if reset:
            c.n = 0
            c.t = 0.0
            c.m = 0.0
            c.k = 0
            c.kt = 0.0
        if n:
            yield site, n, t, m, k, kt


def _after_fork_in_child() -> None:
    # The parent counts (and reports) the calls made before the fork; the child starts at 0.
    for site in _sites:
        c = site.counter
        c.n = c.k = 0
        c.t = c.m = c.kt = 0.0


lifecycle.after_fork_in_child(_after_fork_in_child)
