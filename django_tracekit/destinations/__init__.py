"""Where finished spans and errors go: the stats (feature usage), the trace store, export
(OTLP/console), metrics and Sentry, each an integration in the registry. A destination imports
the core, the storage and its own package, never a source or a page."""
