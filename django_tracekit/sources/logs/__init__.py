"""Log records as span events (a source integration).

Every ``logging`` record at or above ``TRACEKIT['LOGS']['LEVEL']`` created while a span
records becomes an event of that span (``events.py``); every record gets the current trace
and span ids as ``otelTraceID``/``otelSpanID``/``otelServiceName``/``otelTraceSampled``
attributes, as contrib's LoggingInstrumentor sets them. The hook is ``logging``'s public
LogRecord factory (``factory.py``); why that one and not a handler: docs/logs.md.
"""
