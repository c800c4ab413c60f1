"""SQL queries as CLIENT spans on every database alias, with N+1 detection.

``integration.py`` (the switch), ``install.py`` (every connection gets the wrapper),
``wrapper.py`` (a query -> a span), ``statements.py`` (SQL text -> sanitized text, name),
``nplusone.py`` (repeated statements per parent), ``quiet.py`` (what never becomes a span).
"""

#: The event a parent span gets when it ran one normalized statement ``DB.N_PLUS_ONE``
#: times or more; the stats count one N+1 occurrence per event of a feature's span.
N_PLUS_ONE_EVENT = "tracekit.n_plus_one"
N_PLUS_ONE_COUNT = "tracekit.n_plus_one.count"
