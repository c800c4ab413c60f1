"""Error groups: the errors page (``admin:tracekit_errors``) and a feature page's grouped errors."""
