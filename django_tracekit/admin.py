"""The admin's "Tracekit" section, one module per page family: feature usage and unused
code (``reports/admin.py``), the trace explorer (``traces/admin.py``)."""
from django_tracekit.pages import admin as reports_admin
from django_tracekit.pages.traces import admin as traces_admin

__all__ = ["reports_admin", "traces_admin"]


# tracekit's own data code: its queries never become spans (core.vocabulary.OWN_DATA_MARKER).
__tracekit_own_data__ = True
