"""Cost of a failing request's Sentry event, built in the request's thread.

    python benchmarks/bench_sentry.py        (from the repository root)

An exception raised 40 frames deep (a server loop, Django's handler, middleware, the view)
is recorded in the default configuration with Sentry on (tracekit initialises the SDK):

- ``raise + catch``: the exception alone (the floor);
- ``record_error, no Sentry``: tracekit's span event (full stack string) only;
- ``record_error + Sentry event``: what a failing request pays with forwarding on: Sentry's
  exception, the full stack as the crashed thread, tags, redaction, the SDK's serialiser;
- ``sentry_sdk.capture_exception``: the SDK's own event for the same error (adopted by
  tracekit: linked, tagged, full stack) - the peer.

The transport is replaced by one that drops envelopes: sending happens on the SDK's
background thread and is not part of the request's cost. Ratios are against the peer.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import django  # noqa: E402
from _timing import interleaved, print_table  # noqa: E402
from django.conf import settings  # noqa: E402

DEPTH = 40


def configure() -> None:
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                        "django_tracekit"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ROOT_URLCONF="benchmarks.urls",
        TRACEKIT={"EXPORTER": "none", "STATS": {"ENABLED": False},
                  "SENTRY": {"DSN": "http://public@127.0.0.1:9/1"}},
    )
    django.setup()


def main() -> None:
    configure()
    import sentry_sdk

    import django_tracekit as tracekit
    from django_tracekit.conf import get_config
    from django_tracekit.core import errors
    from django_tracekit.destinations import sentry
    from django_tracekit.destinations.sentry import events

    status = sentry.install(get_config())
    assert status.enabled, status.reason
    sentry_sdk.get_client().transport.capture_envelope = (  # type: ignore[union-attr]
        lambda envelope: None)

    def deep(n: int, then: object) -> None:
        if n:
            deep(n - 1, then)
        else:
            then()  # type: ignore[operator]

    def fail() -> None:
        raise ValueError("card declined")

    def contender(record: object) -> object:
        def body() -> None:
            with tracekit.span("view"):
                try:
                    fail()
                except ValueError as exc:
                    record(exc)  # type: ignore[operator]

        return lambda: deep(DEPTH, body)

    def without_sentry(exc: BaseException) -> None:
        errors.error_listeners.remove(events.forward)
        try:
            tracekit.record_error(exc)
        finally:
            errors.error_listeners.append(events.forward)

    results = interleaved({
        "sentry_sdk.capture_exception": contender(sentry_sdk.capture_exception),
        "record_error + Sentry event": contender(tracekit.record_error),
        "record_error, no Sentry": contender(without_sentry),
        "raise + catch": contender(lambda exc: None),
    }, number=60, rounds=5)
    print_table(f"One error {DEPTH} frames deep (per error, in the request's thread)",
                results, baseline="sentry_sdk.capture_exception", unit="ms")


if __name__ == "__main__":
    main()
