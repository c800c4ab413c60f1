"""Outgoing HTTP calls (requests, httpx, urllib3, urllib) as CLIENT spans, with W3C
``traceparent`` propagated: OpenTelemetry's contrib instrumentors, turned on by tracekit.

- :mod:`.integration`: the integration (``TRACEKIT['HTTP_CLIENT']['ENABLED']``, extra ``http``);
- :mod:`.instrumentors`: which instrumentors, turned on once with tracekit's provider;
- :mod:`.provider`: calls made outside any trace make no span (no root CLIENT spans);
- :mod:`.redaction`: secret query values and headers hidden on the instrumentors' spans.
"""
