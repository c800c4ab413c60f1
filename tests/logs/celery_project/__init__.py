"""A Celery project for the logs tests (tests/logs/test_celery.py): Celery's own logging
setup (root logger hijacked, the default) runs in the worker after tracekit's."""

from .celery import app as celery_app

__all__ = ["celery_app"]
