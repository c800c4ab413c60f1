"""Errors forwarded to Sentry, linked to their trace (the ``sentry`` extra)."""
