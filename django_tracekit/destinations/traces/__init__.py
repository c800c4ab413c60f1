"""The admin's local trace store: traces kept whole after they end (every error trace, the
slowest of each feature, a deterministic sample), written off the request path, shown by
the trace explorer (``admin:tracekit_traces``, ``admin:tracekit_trace``)."""

# tracekit's own data code: its queries never become spans (core.vocabulary.OWN_DATA_MARKER).
__tracekit_own_data__ = True
