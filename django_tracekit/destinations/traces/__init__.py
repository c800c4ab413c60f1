"""The admin's local trace store: traces kept whole after they end (every error trace, the
slowest of each feature, a deterministic sample), written off the request path, shown by
the trace explorer (``admin:tracekit_traces``, ``admin:tracekit_trace``)."""
