"""Feature usage: the usage page (``admin:tracekit_usage``) and a feature's page
(``admin:tracekit_usage_feature``)."""
