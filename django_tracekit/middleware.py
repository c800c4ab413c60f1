"""The public path of the middleware (``MIDDLEWARE = [...,
"django_tracekit.middleware.TracekitMiddleware"]``);
it lives with the HTTP source in :mod:`django_tracekit.sources.http.middleware`."""

from django_tracekit.sources.http.middleware import TracekitMiddleware

__all__ = ["TracekitMiddleware"]
