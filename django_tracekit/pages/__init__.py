"""The admin's read side: every tracekit page, one subpackage per page family.

- ``usage/``     feature usage (``admin:tracekit_usage``) and a feature's page
                 (``admin:tracekit_usage_feature``): the table, users, versions, SQL, work,
                 task outcomes, the CSV export
- ``traces/``    the trace explorer (``admin:tracekit_traces``, ``admin:tracekit_trace``)
- ``errors/``    error groups (``admin:tracekit_errors``) and a feature page's grouped errors
- ``releases/``  two versions compared (``admin:tracekit_changes``)
- ``unused/``    auto-traced code that did not run (``admin:tracekit_unused``)
- ``shared/``    what the families share: the time window, the query parameters, which
                 features are listed, the stats rows a window covers, significance, charts,
                 formats, the read-only ModelAdmin and the admin-reachable check
- ``registration.py`` the admin wiring: which ModelAdmin each model gets (imported by
                 ``django_tracekit/admin.py``, where Django looks)
- ``deferred.py`` what is registered: a stand-in with the family's URLs that imports the
                 family's code on the admin's first need of it (not in every worker)

Pages read the tables of :mod:`django_tracekit.storage` and import only the core, ``conf``,
storage and this package: nothing here is imported by the write side, so the span path
never loads it.
"""

# tracekit's own data code: its queries never become spans (core.vocabulary.OWN_DATA_MARKER).
__tracekit_own_data__ = True
