"""A Django project set up the standard Django-Celery way (tests/celery only).

As in the Celery docs: the Celery app is imported when Django starts, so ``@shared_task``
uses it and the web process can publish.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
