"""Per-request overhead over bare Django: tracekit vs opentelemetry-instrumentation-django,
Sentry and ddtrace.

A hello-world view behind ``django.core.handlers.wsgi.WSGIHandler``, called in-process with
a minimal WSGI environ (no sockets, no server: what is left is Django + the tracer). Every
contender is set up in its OWN subprocess, since a global TracerProvider, Sentry's or
ddtrace's patches cannot be undone: this script re-invokes itself with ``--contender NAME``,
the child prints one JSON line, the parent collects them. The children run in alternating
rounds (bare, tracekit, ..., bare, tracekit, ...) so machine noise hits all alike; the
median per contender is reported.

Spans are created and processed for real but not exported: each tracer gets a processor
or filter that drops finished spans, so the export (network) cost is out of the picture.

    .venv/bin/python benchmarks/bench_request.py [--rounds 3] [--number 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

from _contenders import (  # noqa: E402
    FLUSH,
    SEEN,
    dropping_processor,
    run_rounds,
    setup_ddtrace,
    setup_otel_contrib,
    setup_sentry,
    wsgi_request,
)
from _summary import record  # noqa: E402
from _timing import per_call_seconds, print_table  # noqa: E402

__all__ = ["dropping_processor"]  # TRACEKIT['EXPORTER'] = "__main__.dropping_processor"

# "tracekit" is the default configuration (stats on); "-stats-off" the tuned one.
CONTENDERS = ("bare", "tracekit", "tracekit-stats-off", "tracekit-sampled-out", "otel-contrib",
              "sentry", "ddtrace")
BASE_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
PATH = "/orders/42/"


# -- the Django app every contender serves ------------------------------------------------
def hello(request: Any, pk: int) -> Any:
    from django.http import HttpResponse

    return HttpResponse("Hello, world")


def urlpatterns() -> list[Any]:
    from django.urls import path

    return [path("orders/<int:pk>/", hello)]


class _UrlConf:
    """ROOT_URLCONF may be a module object; this one has just the hello route."""

    def __init__(self) -> None:
        self.urlpatterns = urlpatterns()


def configure(installed_apps: list[str], middleware: list[str], **extra: Any) -> None:
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__ + ".ROOT",  # placeholder, replaced below
        INSTALLED_APPS=installed_apps,
        MIDDLEWARE=middleware,
        # Unmigrated: tracekit's stats count in memory and wait quietly for their tables.
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        LOGGING_CONFIG=None,
        **extra,
    )
    settings.ROOT_URLCONF = _UrlConf()


def setup_bare() -> None:
    configure([], list(BASE_MIDDLEWARE))


def setup_tracekit(sample_rate: float, stats: bool = True) -> None:
    """The configuration a user gets (stats on, tracekit's own provider), exporting to the
    same dropping processor as the other contenders; ``stats=False`` is the tuned one."""
    from django_tracekit import bootstrap

    FLUSH.append(bootstrap.flush)
    configure(["django_tracekit"],
              ["django_tracekit.middleware.TracekitMiddleware", *BASE_MIDDLEWARE],
              TRACEKIT={"PROJECT_NAME": "bench", "EXPORTER": "__main__.dropping_processor",
                        "SAMPLE_RATE": sample_rate, "STATS": {"ENABLED": stats}})


SETUPS: dict[str, Callable[[], None]] = {
    "bare": setup_bare,
    "tracekit": lambda: setup_tracekit(1.0),
    "tracekit-stats-off": lambda: setup_tracekit(1.0, stats=False),
    "tracekit-sampled-out": lambda: setup_tracekit(0.0),
    "otel-contrib": lambda: setup_otel_contrib(setup_bare),
    "sentry": lambda: setup_sentry(setup_bare),
    "ddtrace": lambda: setup_ddtrace(setup_bare),
}


def run_child(name: str, number: int) -> dict[str, Any]:
    SETUPS[name]()
    import django

    django.setup()
    one_request, statuses = wsgi_request(PATH)
    one_request()
    if statuses[-1] != "200 OK":
        raise RuntimeError(f"{name}: the hello view answered {statuses[-1]}")
    seconds = per_call_seconds(one_request, number)
    for flush in FLUSH:
        flush()
    return {"name": name, "seconds": seconds, "seen": SEEN[0], "requests": 7 * number + 2}


# -- parent ---------------------------------------------------------------------------------
def run_parent(rounds: int, number: int) -> int:
    done = run_rounds(__file__, CONTENDERS, rounds, number, cwd=REPO, timeout=600)
    failures = done.failures
    per_request = {name: result["seen"] / result["requests"]
                   for name, result in done.last.items()}
    results = {name: statistics.median(values) for name, values in done.samples.items()}
    if "bare" not in results:
        print(f"bare Django failed: {failures.get('bare')}")
        return 1
    print_table("Per request through WSGIHandler (hello-world view, spans dropped at export)",
                results, "bare",
                note=f"median of {rounds} rounds x 7 repeats x {number} requests, "
                     "one subprocess per contender and round")
    bare = results["bare"]
    overhead = {name: seconds - bare for name, seconds in results.items() if name != "bare"}
    print("\n## Overhead per request over bare Django")
    print("(spans/request: finished spans, transactions or traces that reached the drop "
          "point, i.e. what the contender really recorded while timed)")
    print("| contender | µs/request added | spans/request |")
    print("|---|---:|---:|")
    for name in CONTENDERS:
        if name == "bare":
            continue
        if name in overhead:
            print(f"| {name} | {overhead[name] * 1e6:8.2f} | {per_request[name]:.2f} |")
        else:
            print(f"| {name} | {failures.get(name, 'not run')} | |")
    record(**{f"request.{name}": seconds for name, seconds in overhead.items()})
    print("\n## Ratios (goals in brackets)")
    tk = overhead.get("tracekit")

    def ratio(label: str, other: str, goal: str) -> None:
        if tk is None or other not in overhead or overhead[other] <= 0:
            print(f"- {label}: n/a ({failures.get(other, 'no positive overhead to compare')})")
            return
        print(f"- {label}: {tk / overhead[other]:.2f} [{goal}]")

    ratio("tracekit overhead / opentelemetry-instrumentation-django overhead", "otel-contrib",
          "<= 1.0")
    ratio("tracekit overhead / Sentry overhead", "sentry", "<= 0.2")
    ratio("tracekit overhead / ddtrace overhead", "ddtrace", "for information")
    if tk is not None and "tracekit-sampled-out" in overhead:
        out = overhead["tracekit-sampled-out"]
        print(f"- tracekit sampled out: {out * 1e6:.2f} µs/request "
              f"({out / tk:.2f} of the sampled cost)" if tk > 0 else "")
    for name, reason in failures.items():
        if name not in results:
            print(f"- {name}: {reason}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contender", choices=CONTENDERS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.contender:
        print(json.dumps(run_child(args.contender, args.number)), flush=True)
        return 0
    return run_parent(args.rounds, args.number)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
