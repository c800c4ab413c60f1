"""SQL queries as CLIENT spans on every database alias, with N+1 detection.

``integration.py`` (the switch), ``install.py`` (every connection gets the wrapper),
``wrapper.py`` (a query -> a span), ``core/sql_text.py`` (SQL text -> sanitized text, name),
``nplusone.py`` (repeated statements per parent), ``quiet.py`` (what never becomes a span).
"""

# The N+1 event and its count are span vocabulary (django_tracekit.core.vocabulary): the
# stats and the trace explorer read them without importing this source.
from django_tracekit.core.vocabulary import N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT

__all__ = ["N_PLUS_ONE_COUNT", "N_PLUS_ONE_EVENT"]
