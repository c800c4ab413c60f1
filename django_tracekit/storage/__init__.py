"""tracekit's tables and what writes them: the models of the usage stats and the trace store,
the background flusher and the database timeouts of tracekit's own writes."""

# tracekit's own data code: its queries never become spans (core.vocabulary.OWN_DATA_MARKER).
__tracekit_own_data__ = True
