"""Unused code: auto-traced functions that did not run in a range (``admin:tracekit_unused``)."""
