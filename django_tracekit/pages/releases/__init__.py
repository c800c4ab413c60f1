"""Releases: two ``service.version``\\ s compared across features (``admin:tracekit_changes``)."""
