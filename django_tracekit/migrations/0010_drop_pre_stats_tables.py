# ruff: noqa: RUF012  (a migration: class attributes as makemigrations writes them)
"""Drop the tables of the write path before ``tracekit_stats`` (0008 carried their rows over
and nothing has read or written them since): usage counters, latency histograms, users
sketches, per-version usage and latency, error samples (the error groups replaced them).

Fewer tables is also less per connection: SQLite reads the whole schema each time a
connection opens (Django"s default ``CONN_MAX_AGE`` 0 opens one per request).
``DeleteModel`` only: a table dropped takes its foreign keys and indexes with it (removing
the foreign keys first would rebuild each SQLite table, rows and all, just before dropping
it)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("django_tracekit", "0009_stats_writer"),
    ]

    operations = [
        migrations.DeleteModel(name="ErrorSample"),
        migrations.DeleteModel(name="LatencyBucket"),
        migrations.DeleteModel(name="UsageBucket"),
        migrations.DeleteModel(name="UserSketch"),
        migrations.DeleteModel(name="VersionLatency"),
        migrations.DeleteModel(name="VersionUsage"),
    ]
