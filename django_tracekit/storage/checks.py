"""System checks of ``TRACEKIT['STATS']['DATABASE']``, the alias of tracekit's tables.

- E037: the alias is not in ``DATABASES``.
- E052: the routers do not send tracekit's tables there (``TracekitRouter`` not in
  ``DATABASE_ROUTERS``, or a router listed before it sends them elsewhere).
- W040: tracekit's migrations are not all applied on that database, with the exact
  ``migrate --database=<alias>`` to run. Only for an alias other than "default": for the
  default database ``runserver`` already lists unapplied migrations, and for no other.

Nothing here creates a database: a SQLite file that does not exist yet is "not migrated"
without connecting (connecting would create it). The migrations are read on a thread of
their own, with the flusher's connect and statement timeouts, on a connection closed after:
a server that cannot be reached is a warning within seconds, never a traceback or a hang.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

from django_tracekit.conf import Config
from django_tracekit.storage import timeouts

ROUTER = "django_tracekit.routers.TracekitRouter"
SETTING = "TRACEKIT['STATS']['DATABASE']"


def check_database(config: Config) -> list[CheckMessage]:
    alias = config.stats.database
    if alias == DEFAULT_DB_ALIAS:
        return []
    if alias not in settings.DATABASES:
        known = ", ".join(repr(a) for a in settings.DATABASES) or "none"
        return [Error(f"{SETTING} is {alias!r}, which is not in DATABASES (aliases: {known}): "
                      "tracekit's tables stay on the default database.",
                      hint=f"Add {alias!r} to DATABASES, or set {SETTING} to one of them.",
                      id="django_tracekit.E037")]
    routed = _routed_alias()
    if routed != alias:
        installed = ROUTER in [_dotted(r) for r in settings.DATABASE_ROUTERS]
        why = (f"a router listed before {ROUTER} sends them to {routed!r}" if installed
               else f"{ROUTER} is not in DATABASE_ROUTERS, so they go to {routed!r}")
        return [Error(f"{SETTING} is {alias!r} but tracekit's tables are not routed there: "
                      f"{why}.",
                      hint=(f"Add {ROUTER!r} to DATABASE_ROUTERS" if not installed else
                            f"List {ROUTER!r} first in DATABASE_ROUTERS")
                      + f", then run: python manage.py migrate --database={alias}",
                      id="django_tracekit.E052")]
    if _running_migrate():
        return []  # the command that applies them is the one running
    return _check_migrated(alias)


def _routed_alias() -> str:
    from django_tracekit.storage.usage_models import Feature

    return str(router.db_for_write(Feature))


def _dotted(entry: object) -> str:
    if isinstance(entry, str):
        return entry
    cls = entry if isinstance(entry, type) else type(entry)
    return f"{cls.__module__}.{cls.__qualname__}"


def _running_migrate() -> bool:
    return len(sys.argv) > 1 and sys.argv[1] == "migrate"


def _check_migrated(alias: str) -> list[CheckMessage]:
    fix = f"Run: python manage.py migrate --database={alias}"
    outcome: dict[str, Any] = {}
    # On a thread of its own: its connection gets tracekit's connect/statement timeouts
    # (a black-holed server holds no manage.py command for long) and is closed after.
    reader = threading.Thread(target=_read_pending, args=(alias, outcome), daemon=True,
                              name="tracekit-migration-check")
    reader.start()
    reader.join(timeouts.CONNECT_TIMEOUT_S + timeouts.STATEMENT_TIMEOUT_S)
    error = outcome.get("error")
    if "pending" not in outcome:
        reason = (f"{type(error).__name__}: {' '.join(str(error).split())}" if error is not None
                  else "no answer in time")
        return [Warning(f"tracekit's database {alias!r} ({SETTING}) could not be read to "
                        f"see whether its tables are migrated: {reason}",
                        hint=f"Check DATABASES[{alias!r}]. {fix}", id="django_tracekit.W040")]
    pending: list[str] = outcome["pending"]
    if not pending:
        return []
    return [Warning(f"tracekit's tables are not migrated on database {alias!r} ({SETTING}): "
                    f"{len(pending)} migration(s) of django_tracekit not applied there "
                    f"({', '.join(pending[:3])}{', ...' if len(pending) > 3 else ''}); "
                    "its stats and traces are not written until they are.",
                    hint=fix, id="django_tracekit.W040")]


def _read_pending(alias: str, outcome: dict[str, Any]) -> None:
    from django.db.migrations.loader import MigrationLoader

    from django_tracekit.storage.usage_models import Feature

    timeouts.mark_writer_thread()
    connection = connections[alias]
    try:
        if _sqlite_file_missing(connection):
            outcome["pending"] = ["(all: the database file does not exist yet)"]
            return
        timeouts.apply(connection)
        app_label = Feature._meta.app_label
        loader = MigrationLoader(connection, ignore_no_migrations=True)
        plan = [key for leaf in loader.graph.leaf_nodes(app_label)
                for key in loader.graph.forwards_plan(leaf)]
        outcome["pending"] = sorted({name for app, name in plan if app == app_label
                                     and (app, name) not in loader.applied_migrations})
    except Exception as exc:  # a server down or refusing: said, never a traceback
        outcome["error"] = exc
    finally:
        connection.close()


def _sqlite_file_missing(connection: BaseDatabaseWrapper) -> bool:
    """Connecting would create the file (``manage.py check`` on a fresh checkout)."""
    if connection.vendor != "sqlite":
        return False
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        return False
    return not os.path.exists(name)
