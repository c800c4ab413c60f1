"""The audit's application: routes with latency, errors, users and N+1 the test controls,
Celery tasks with known retries, a management command (tests/audit only)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
