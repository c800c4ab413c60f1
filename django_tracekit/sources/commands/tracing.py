"""What a management command's span is: which commands get one, its name and attributes,
and its outcome (exit code, errors).

- Name: the convention name of the command's ``handle``, after the command's own class
  (``{project}/{app}/management/commands/{name}/Command/handle``), even when ``handle`` is
  inherited (``LabelCommand``, a project base class): every command is its own feature.
  An auto-traced ``handle`` of the project gets no second span of that name: the command
  span is attached when ``handle`` runs, and auto-tracing's name check makes it stand for
  the call (the same mechanism as the view span and the Celery task span).
- Kind INTERNAL, marked ``tracekit.feature.kind = "command"`` when it is the root of its
  trace: the stats count it as kind ``command`` (:mod:`django_tracekit.core.features`).
  ``call_command()`` inside a request, task or command is a child span counted as a
  function: an entry point is counted once.
- Attributes: the command's name and, for the command the process runs, the *names* of
  the options given on the command line (never a value: ``--password=...`` is
  ``--password``) and ``process.exit.code``.
- Outcome: an exception escaping ``execute`` is recorded by the error convention (one
  event, full stack): ``CommandError`` is an error (exit code ``returncode``);
  ``SystemExit(0)``/``SystemExit(None)`` is not, a non-zero ``SystemExit`` is;
  ``KeyboardInterrupt`` is not an error (exit code 130).
- Not traced: long-running or interactive commands (:data:`NEVER_TRACED`: servers, shells,
  test runners, workers), Django's own commands except :data:`DJANGO_JOBS` (``migrate``,
  ``collectstatic``, ``check``: deploy and development steps, not product features; a
  ``migrate`` span would count every model field it renders as a used function),
  tracekit's own commands, and ``TRACEKIT['COMMANDS']['EXCLUDE']``.
- Not usage: while one of Django's own deploy and development steps runs (``migrate``,
  ``loaddata``, ``flush``, ``collectstatic``, ``createsuperuser``, ...: every Django command
  but the servers, shells, ``test`` and :data:`DJANGO_JOBS`, see :func:`not_usage`),
  auto-traced functions are not counted: a data migration's ``RunPython`` and the signal
  handlers ``loaddata`` fires call the app's own functions (16 in the Plane trial's feature
  list, 50 in wger's after one ``loaddata``).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.management.base import CommandError
from django.core.signals import setting_changed
from opentelemetry.trace import Span, SpanKind

from django_tracekit.conf.commands import CommandsSettings
from django_tracekit.core import errors, features, naming
from django_tracekit.core.tracer import get_tracer

COMMAND_NAME = "tracekit.command.name"
COMMAND_OPTIONS = "tracekit.command.options"
EXIT_CODE = "process.exit.code"  # semconv

#: Commands that serve, wait for a person, or run other work for days: one span over all
#: of it (and every request or job it runs inside that one trace) would be wrong.
NEVER_TRACED = frozenset({
    # Servers and shells (Django, django-extensions, mod_wsgi, channels).
    "runserver", "runserver_plus", "testserver", "runmodwsgi", "runworker",
    "shell", "shell_plus", "dbshell", "changepassword", "createsuperuser",
    # Test runners: the suite is not one feature.
    "test",
    # Workers and schedulers (Celery, RQ, django-q, Huey, Dramatiq, django-tasks, ...).
    "celery", "celeryd", "celerybeat", "celerycam", "rqworker", "rqscheduler",
    "qcluster", "process_tasks", "run_huey", "rundramatiq", "db_worker",
})
#: Django's own commands that are jobs a team schedules (cron, beat): traced like theirs.
DJANGO_JOBS = frozenset({"clearsessions", "sendtestemail"})
#: Django's own commands whose runs *are* the product's use: the servers (the requests
#: they serve), the shells (what a developer runs by hand), ``test`` (its own database) and
#: the jobs. Every other Django command is a deploy or development step: the project's
#: functions it calls (a data migration's ``RunPython``, the signal handlers ``loaddata``
#: fires, a ``post_migrate`` handler) are not counted (auto-tracing marks them as run, so
#: they are not unused code either).
USAGE_COMMANDS = frozenset({"runserver", "testserver", "shell", "dbshell", "test"}) | DJANGO_JOBS
OWN_PREFIX = "tracekit_"  # tracekit's own commands (lint, prune) are not the team's features

_MAX_OPTIONS = 32
_MAX_OPTION_CHARS = 64


@dataclass(frozen=True)
class CommandMeta:
    """Per command class, computed once: its name, span name and base attributes."""

    name: str
    span_name: str
    attributes: dict[str, Any]


_meta: dict[type, CommandMeta] = {}
_meta_lock = threading.Lock()


def command_name(cls: type) -> str:
    """The name ``manage.py`` knows a command by: its module's last segment."""
    return str(cls.__module__).rpartition(".")[2]


def meta_for(cls: type) -> CommandMeta:
    meta = _meta.get(cls)
    if meta is None:
        name = command_name(cls)
        handle = naming.location_for(getattr(cls, "handle", cls))
        location = naming.location(str(cls.__module__), f"{cls.__qualname__}.handle",
                                   handle.file_path, handle.line_number)
        attributes: dict[str, Any] = dict(location.attributes)
        attributes[features.FEATURE_KIND] = features.COMMAND
        attributes[COMMAND_NAME] = name
        meta = CommandMeta(name, location.name, attributes)
        with _meta_lock:
            if len(_meta) < 10_000:  # classes made on the fly (tests) must not grow it forever
                _meta[cls] = meta
    return meta


def clear_cache() -> None:
    """Forget computed names (PROJECT_NAME changed)."""
    with _meta_lock:
        _meta.clear()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TRACEKIT", "BASE_DIR", "ROOT_URLCONF", "INSTALLED_APPS"):  # PROJECT_NAME
        clear_cache()


setting_changed.connect(_on_setting_changed, dispatch_uid="django_tracekit.sources.commands")


#: ``TRACEKIT['COMMANDS']``, handed over by the integration (``configure``).
_settings = CommandsSettings()


def configure(settings: CommandsSettings) -> None:
    global _settings
    _settings = settings


def traced(cls: type) -> CommandMeta | None:
    """The command's span description, or None when it is not traced."""
    settings = _settings
    if not settings.enabled:
        return None
    meta = meta_for(cls)
    name = meta.name
    if name in NEVER_TRACED or name.startswith(OWN_PREFIX) or name in settings.exclude:
        return None
    if cls.__module__.startswith("django.") and name not in DJANGO_JOBS:
        return None
    return meta


def not_usage(cls: type) -> bool:
    """Whether the command's run is not the product's use: one of Django's own commands
    but :data:`USAGE_COMMANDS`, whatever the settings."""
    return (str(cls.__module__).startswith("django.")
            and command_name(cls) not in USAGE_COMMANDS)


def option_names(argv: list[str]) -> tuple[str, ...]:
    """The option names given on a command line, never their values."""
    names: dict[str, None] = {}
    for token in argv:
        if token == "--":
            break
        if len(names) >= _MAX_OPTIONS:
            break
        if not token.startswith("-") or token == "-" or _is_number(token):
            continue
        # "--database=x": the name; "-v2", "-pSECRET": the letter only.
        name = token.partition("=")[0] if token.startswith("--") else token[:2]
        names[name[:_MAX_OPTION_CHARS]] = None
    return tuple(names)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def is_process_command(meta: CommandMeta) -> bool:
    """Whether this is the command the process runs (``manage.py <name>``), not one that
    code calls (``call_command``)."""
    argv = sys.argv
    return len(argv) > 1 and argv[1] == meta.name


def start(meta: CommandMeta, top_level: bool, root: bool = True) -> Span:
    attributes = meta.attributes
    if not root:
        # call_command() inside a request, task or command is part of that entry point: a
        # function, not a second command (pontoon's calculate_stats task calls the
        # calculate_stats command: the Commands tab listed a command nobody ran).
        attributes = {k: v for k, v in attributes.items() if k != features.FEATURE_KIND}
    if top_level:
        options = option_names(sys.argv[2:])
        if options:
            attributes = {**attributes, COMMAND_OPTIONS: options}
    return get_tracer().start_span(meta.span_name, kind=SpanKind.INTERNAL,
                                   attributes=attributes)


def timed_checks(check: Callable[..., Any]) -> Callable[..., Any]:
    """``check`` (a command's bound ``check``) running in a span of its own: Django's code,
    named by its location, standing for no feature."""
    location = naming.location_for(check)
    attributes = {**location.attributes, features.FEATURE_KIND: features.NO_FEATURE}

    @functools.wraps(check)
    def timed(*args: Any, **kwargs: Any) -> Any:
        # A failing check (SystemCheckError) is recorded once, by the command's span.
        with get_tracer().start_as_current_span(location.name, kind=SpanKind.INTERNAL,
                                                attributes=attributes, record_exception=False,
                                                set_status_on_exception=False):
            return check(*args, **kwargs)

    return timed


def exit_code(exc: BaseException | None, traceback_option: bool = False) -> int:
    """The exit status ``manage.py`` ends with when ``exc`` escapes the command."""
    if exc is None:
        return 0
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1  # a message: printed, exit status 1
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, CommandError) and not traceback_option:
        returncode = getattr(exc, "returncode", 1)
        return returncode if isinstance(returncode, int) else 1
    return 1  # an uncaught exception (or CommandError with --traceback): a traceback


def finish(span: Span, exc: BaseException | None, top_level: bool,
           traceback_option: bool) -> None:
    """Record the outcome on the span (the caller ends it)."""
    code = exit_code(exc, traceback_option)
    if top_level and span.is_recording():
        span.set_attribute(EXIT_CODE, code)
    if exc is None or isinstance(exc, KeyboardInterrupt):
        return
    if isinstance(exc, SystemExit):
        if code != 0:
            errors.record_error(exc, span)
        return
    if isinstance(exc, CommandError):
        errors.record_error(exc, span)  # a command's way to fail: an error, not an outcome
        return
    if errors.is_error(exc):
        errors.record_error(exc, span)
