"""Migration tests: the database moved to a migration of tracekit's, and its models then."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

Target = list[tuple[str, str]]


def migrate_to(target: Target | None = None) -> Any:
    """Migrate to ``target`` (None: the newest migrations); the models' state there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    target = target if target is not None else executor.loader.graph.leaf_nodes()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def apps_before(target: Target) -> Iterator[Any]:
    """A fixture body: the models at ``target``, the database back at the newest afterwards."""
    apps = migrate_to(target)
    yield apps
    migrate_to()
