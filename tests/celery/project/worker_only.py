"""Imported only by the worker (``celery worker -I``): the web process cannot import it,
so it sends this task by name (``send_task``), as a separate service would."""

from celery import shared_task


@shared_task(name="remote.resize")
def resize(width: int) -> int:
    return width // 2
