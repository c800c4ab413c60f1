# ruff: noqa: RUF012  (a migration: class attributes as makemigrations writes them)
"""Drop the single-column foreign-key indexes that another index of the same table starts
with: ``tracekit_trace_span.trace_id`` (the unique ``(trace_id, span_id)``),
``tracekit_task_edge.producer_id`` (the unique ``(producer_id, task_id, ...)``) and
``.task_id`` (``(task_id, resolution, bucket_start)``), ``tracekit_error_group_bucket.group_id``
(the unique ``(group_id, feature_id, ...)``), ``tracekit_error_group_example.group_id``
(``(group_id, time)``). Every lookup and cascade delete by that column uses the longer index;
MariaDB/InnoDB's foreign keys need an index that starts with the column, which it is.

One index less to write per row, and less per connection: SQLite parses the whole schema
each time a connection opens (Django's default ``CONN_MAX_AGE`` 0 opens one per request).

The indexes are found by introspection, not by name: Django names them by a hash, and on
MariaDB InnoDB made its own (named after the foreign key) or none. Only the database changes
(no ``AlterField``: on SQLite that rebuilds the table, every stored span copied); the models
say ``db_index=False`` from now on. Reversed, the indexes come back under Django's names.
"""

from typing import Any

from django.db import migrations, models

#: (model, foreign key field, the index Django created for it before this migration)
PREFIX_INDEXES = (
    ("TraceSpan", "trace", "tracekit_trace_span_trace_id_b2b03567"),
    ("TaskEdge", "producer", "tracekit_task_edge_producer_id_625f066d"),
    ("TaskEdge", "task", "tracekit_task_edge_task_id_1ac87c2d"),
    ("ErrorGroupBucket", "group", "tracekit_error_group_bucket_group_id_9e185382"),
    ("ErrorGroupExample", "group", "tracekit_error_group_example_group_id_0f2d302d"),
)


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    for model_name, field_name, _ in PREFIX_INDEXES:
        model = apps.get_model("django_tracekit", model_name)
        column = model._meta.get_field(field_name).column
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        for name, info in constraints.items():
            if (info["index"] and not info["unique"] and not info["primary_key"]
                    and info["columns"] == [column]):
                schema_editor.remove_index(model, models.Index(fields=[field_name], name=name))


def create_indexes(apps: Any, schema_editor: Any) -> None:
    for model_name, field_name, index_name in PREFIX_INDEXES:
        model = apps.get_model("django_tracekit", model_name)
        schema_editor.add_index(model, models.Index(fields=[field_name], name=index_name))


def _without_index(model_name: str, field_name: str) -> migrations.AlterField:
    to = "django_tracekit.trace" if model_name == "TraceSpan" else (
        "django_tracekit.errorgroup" if field_name == "group" else "django_tracekit.feature")
    related_name = "spans" if model_name == "TraceSpan" else "+"
    return migrations.AlterField(
        model_name=model_name.lower(), name=field_name,
        field=models.ForeignKey(db_index=False, on_delete=models.deletion.CASCADE,
                                related_name=related_name, to=to))


class Migration(migrations.Migration):

    dependencies = [
        ("django_tracekit", "0010_drop_pre_stats_tables"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[_without_index(model, field) for model, field, _ in PREFIX_INDEXES],
        ),
    ]
