"""Tasks of the django.tasks tests (module-level functions, as django.tasks requires);
imported only where django.tasks exists (Django 6.0+)."""

from __future__ import annotations

from typing import Any

from django.tasks import TaskContext, task

import django_tracekit as tracekit


def _explode(order_id: int) -> None:
    raise ValueError(f"order {order_id} cannot be charged")


@task
def charge(order_id: int) -> None:
    _explode(order_id)


@task
def add(x: int, y: int) -> int:
    with tracekit.span("add/inner"):
        return x + y


@task(takes_context=True)
def attempt(context: TaskContext[Any, Any]) -> int:
    return int(context.attempt)


@task
async def fetch(url: str) -> str:
    return url.upper()


def not_a_task(*args: Any) -> None:
    return None
