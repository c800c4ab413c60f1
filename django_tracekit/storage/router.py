"""``TracekitRouter``: tracekit's tables (stats, trace store) on ``STATS['DATABASE']``.

Django decides where a model is read, written and migrated through the routers in
``DATABASE_ROUTERS``; tracekit's writers, its admin pages, ``tracekit_prune`` and ``migrate``
all ask them, so one router is the whole switch. Add it when the alias is not "default"::

    DATABASE_ROUTERS = ["django_tracekit.routers.TracekitRouter"]

It decides for the ``django_tracekit`` app only, and keeps every other app's tables off a
database of tracekit's own (else ``migrate --database=<alias>`` would also create auth,
contenttypes and sessions there). With the alias "default", or an alias missing from
``DATABASES`` (system check E037), it decides nothing: Django's default applies.
A router listed before it that claims tracekit's models wins, as Django's routers do;
system check E052 says when tracekit's tables are not routed to the alias.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from django_tracekit.conf import get_config

APP_LABEL = "django_tracekit"


def tracekit_alias() -> str | None:
    """The alias of tracekit's tables when it is one of its own; None: "default" or unknown."""
    alias = get_config().stats.database
    if alias == DEFAULT_DB_ALIAS or alias not in settings.DATABASES:
        return None
    return alias


class TracekitRouter:
    """Routes the ``django_tracekit`` app to ``TRACEKIT['STATS']['DATABASE']``."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return tracekit_alias() if _is_ours(model) else None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return tracekit_alias() if _is_ours(model) else None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        ours = (_is_ours(type(obj1)), _is_ours(type(obj2)))
        if tracekit_alias() is None or ours == (False, False):
            return None
        return ours == (True, True)  # tracekit's tables refer to each other only

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None,
                      **hints: Any) -> bool | None:
        alias = tracekit_alias()
        if alias is None:
            return None
        if app_label == APP_LABEL:
            return db == alias
        return False if db == alias else None


def _is_ours(model: type) -> bool:
    meta = getattr(model, "_meta", None)
    return meta is not None and meta.app_label == APP_LABEL
