"""The Celery test project (tests/celery/project) served by gunicorn with the trace store
on a shared database (SQLite file or PostgreSQL, from ``TK_TRACES_DB``)."""
