"""tracekit's tables and what writes them: the models of the usage stats and the trace store,
the background flusher and the database timeouts of tracekit's own writes."""
