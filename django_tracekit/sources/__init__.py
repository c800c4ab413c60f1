"""Where spans come from: one package per source (HTTP server, Celery, auto-trace, SQL, cache,
HTTP client, logs, templates, commands, django.tasks), each an integration in the registry.
A source imports the core and its own package, never a destination or a page."""
