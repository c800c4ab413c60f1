"""Queries that never become spans: tracekit's own, migrations', and suppressed ones.

- Inside :func:`suppressed` (or any code that sets OpenTelemetry's suppress-instrumentation
  context key, as the SDK's exporters and the contrib instrumentors do).
- Run by tracekit's own data code (the stats and trace-store writers, the admin's reports,
  ``tracekit_prune``): the first frame up the stack that is neither Django nor tracekit's
  instrumentation decides. Own data code is marked, not listed: a module whose globals or
  whose package (any ``__init__`` above it) set ``__tracekit_own_data__ = True``
  (:data:`~django_tracekit.core.vocabulary.OWN_DATA_MARKER`), so a module moved or added
  inside a marked package stays quiet. tracekit's middleware and view wrappers sit *below* the
  application's code on every request, so they are looked through, not counted as "ours".
- Run by ``migrate`` (the migration executor, schema editor, ``RunPython`` functions of a
  ``migrations`` package, the ``post_migrate`` handlers that create permissions and content
  types): hundreds of DDL statements with nothing to learn per statement, so none is a span.
  The ``migrate`` command itself is one span when commands are traced.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context

from django_tracekit.core.vocabulary import OWN_DATA_MARKER, SUPPRESS_KEY

# Per tracekit module name: whether it is own data code (the marker, on the module or a
# package above it). A few dozen names at most; read once each.
_own_data: dict[str, bool] = {}
_MIGRATION = ("django.db.migrations", "django.core.management.commands.migrate",
              "django.core.management.sql")
_MAX_DEPTH = 200  # frames looked at; beyond this, a query is the application's


@contextmanager
def suppressed() -> Iterator[None]:
    """No query (and no other OpenTelemetry instrumentation) makes spans inside the block."""
    token = otel_context.attach(otel_context.set_value(SUPPRESS_KEY, True))
    try:
        yield
    finally:
        otel_context.detach(token)


def quiet_caller(frame: types.FrameType | None) -> bool:
    """Whether the code that ran a query (``frame`` and its callers) is tracekit's own data
    code or a migration: Django's frames are walked through to the first other one."""
    depth = 0
    verdicts = _verdicts
    while frame is not None and depth < _MAX_DEPTH:
        name = frame.f_globals.get("__name__")
        # Per module name, decided once (a few dozen Django modules on every query's stack).
        verdict = verdicts.get(name)  # type: ignore[arg-type]
        if verdict is None:
            if not isinstance(name, str):
                return False
            verdict = _verdict(name, frame.f_globals)
        if verdict is not _THROUGH:
            return verdict is _QUIET
        frame = frame.f_back
        depth += 1
    return False


_QUIET, _APPLICATION, _THROUGH = "quiet", "application", "through"  # _THROUGH: look up
# module name -> its verdict; bounded (module names)
_verdicts: dict[str, str] = {}
_MAX_VERDICTS = 4096


def _verdict(name: str, module_globals: dict[str, object]) -> str:
    if name.startswith("django_tracekit."):  # a few frames: the marker read each time
        if module_globals.get(OWN_DATA_MARKER) is True or _in_own_data_package(name):
            return _QUIET
        return _THROUGH
    if name.startswith("django."):
        verdict = _QUIET if name.startswith(_MIGRATION) else _THROUGH
    else:  # a project's RunPython function, or the application's code
        verdict = _QUIET if ".migrations." in name else _APPLICATION
    if len(_verdicts) < _MAX_VERDICTS:
        _verdicts[name] = verdict
    return verdict


def _in_own_data_package(name: str) -> bool:
    """Whether a package above module ``name`` carries the own-data marker."""
    own = _own_data.get(name)
    if own is None:
        parts = name.split(".")
        packages = (sys.modules.get(".".join(parts[:i])) for i in range(2, len(parts)))
        own = any(getattr(p, OWN_DATA_MARKER, None) is True for p in packages)
        if all(".".join(parts[:i]) in sys.modules for i in range(2, len(parts))):
            _own_data[name] = own  # packages all loaded: the answer cannot change
    return own


def caller_is_quiet() -> bool:
    """:func:`quiet_caller` from the frame that called the execute wrapper (called from the
    wrapper's ``_start``): the wrapper's own frame is tracekit's instrumentation, looked
    through anyway, and not a module name worth a verdict per query."""
    return quiet_caller(sys._getframe(3))
