"""The public path of tracekit's database router (``DATABASE_ROUTERS =
["django_tracekit.routers.TracekitRouter"]``, needed when ``STATS['DATABASE']`` is not
"default"); it lives with the tables in :mod:`django_tracekit.storage.router`."""

from django_tracekit.storage.router import TracekitRouter

__all__ = ["TracekitRouter"]
