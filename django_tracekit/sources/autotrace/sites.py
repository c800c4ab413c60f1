"""The registry of auto-traced functions (sites) and their per-function counters.

Rewritten code holds its sites' :class:`Counter` objects as module globals
(``_tk_c0``, ``_tk_c1``, ...: indices local to the module, so the rewritten bytecode does
not depend on the process and can be cached) and updates them inline.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from django_tracekit.core import lifecycle, naming

# Outside recorded traces, about one plain call in SAMPLE_EVERY reads the clock (the others
# are only counted): the mean window length of ``calls.sample``.
SAMPLE_EVERY = 16


class Counter:
    """Per site: calls, total seconds, max seconds, and of those the calls that became spans
    and their seconds (``k``, ``kt``), so the stats pipeline, which counts spans, adds only
    the calls that did not become one. ``site`` is the function it counts; ``name`` its
    convention name ("" until needed). ``under``: (the span name its call was last seen
    directly under, whether it wraps that span's function there): ``calls.push``'s memo,
    one tuple so threads read both at once (see ``wrappers.py``).

    Measured calls (every call inside a recorded trace, every coroutine and generator
    segment, and one in about :data:`SAMPLE_EVERY` plain calls outside any trace) update
    ``n``/``t``/``m`` (inline in rewritten code). The other plain calls outside traces only
    count down ``q`` (inline: no clock read); ``calls.sample`` starts a new window when it
    reaches 0. Unmeasured calls: ``u`` (closed windows) + ``w - q`` (the open one, of
    length ``w``). ``sn``/``st``: the sampled calls outside traces and their seconds, whose
    mean (``sm``: the last one known) stands for the unmeasured calls' durations.
    """

    __slots__ = ("k", "kt", "m", "n", "name", "q", "site", "sm", "sn", "st", "t", "u",
                 "under", "w")

    def __init__(self, site: Site) -> None:
        self.n = 0
        self.t = 0.0
        self.m = 0.0
        self.k = 0
        self.kt = 0.0
        self.q = 0  # 0: the first call outside a trace is measured
        self.w = 0
        self.u = 0
        self.sn = 0
        self.st = 0.0
        self.sm = 0.0
        self.site = site
        self.name = ""
        self.under: tuple[str | None, bool] = (None, False)

    def load_name(self) -> str:
        name = self.name = self.site.location.name
        return name

    def read(self, reset: bool) -> tuple[int, float, float, int, float]:
        """Calls, total s, max s, and of those the calls that became spans, their s; then
        zeroed if ``reset``. Calls are exact; the total of the unmeasured calls is their
        number times the mean of the sampled ones."""
        # No call between the reads and the resets: atomic w.r.t. other threads (3.11+).
        n, t, m, k, kt, u, w, q, sn, st = (self.n, self.t, self.m, self.k, self.kt, self.u,
                                           self.w, self.q, self.sn, self.st)
        if reset:
            self.n = self.k = self.u = self.sn = 0
            self.t = self.m = self.kt = self.st = 0.0
            self.w = q  # the open window restarts here: nothing unmeasured in it yet
        unmeasured = u + w - q
        if sn:
            self.sm = st / sn
        return n + unmeasured, t + unmeasured * self.sm, m, k, kt


@dataclass(eq=False)
class Site:
    """One instrumented function (code location) and its counter."""

    module: str
    qualname: str
    filename: str
    lineno: int
    counter: Counter = field(init=False)
    ran_at_startup: bool = field(default=False, init=False)  # called, not counted as usage

    def __post_init__(self) -> None:
        self.counter = Counter(self)

    @functools.cached_property
    def location(self) -> naming.CodeLocation:
        """Computed once (then an attribute: a kept span reads it without a call)."""
        return naming.location(self.module, self.qualname, self.filename, self.lineno)


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
        n, t, m, k, kt = site.counter.read(reset)
        if n:
            yield site, n, t, m, k, kt


def _after_fork_in_child() -> None:
    # The parent counts (and reports) the calls made before the fork; the child starts at 0.
    for site in _sites:
        site.counter.read(reset=True)


lifecycle.after_fork_in_child(_after_fork_in_child)
