"""Optional integrations, each imported only when its library is installed and in use.

``django_tracekit.integrations.celery``: Celery tasks traced end to end (``install()``).
"""
