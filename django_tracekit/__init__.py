"""django-tracekit: traces instead of logs for Django + Celery.

    import django_tracekit as tracekit

    with tracekit.span():            # named after the enclosing function's code location
        ...

    @tracekit.traced
    def run(self): ...

    tracekit.record_error(exc)       # full stack, ERROR status, once
"""

from __future__ import annotations

# conf first: it tells the core (naming) what PROJECT_NAME is; the core cannot import it.
from django_tracekit import conf as _conf  # noqa: F401  # isort: skip
from django_tracekit.api import no_autotrace, span, traced
from django_tracekit.core.errors import record_error
from django_tracekit.core.naming import name_for

__version__ = "0.1.0"

__all__ = ["__version__", "name_for", "no_autotrace", "record_error", "span", "traced"]
