"""Celery tasks traced end to end (the ``celery`` extra). :mod:`.integration` is light;
the signal handlers import Celery and load only when the integration is on."""
