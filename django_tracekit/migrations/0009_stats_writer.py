# ruff: noqa: RUF012  (migration class attributes, as makemigrations writes them)
# Process-owned stats rows (tracekit_stats.writer): a flush writes its own minute and hour
# rows, closed buckets are merged into the row of writer 0. Existing rows are merged rows
# (writer 0) and stay as they are; the merge watermarks start now (buckets before them are
# written into the merged rows, as before).

import time
from typing import Any

import django.db.models.deletion
from django.db import migrations, models

MINUTE, HOUR = 60, 3600


def start_watermarks(apps: Any, schema_editor: Any) -> None:
    compacted = apps.get_model("django_tracekit", "StatsCompacted").objects.using(
        schema_editor.connection.alias)
    now = int(time.time())
    for resolution in (MINUTE, HOUR):
        compacted.update_or_create(resolution=resolution,
                                   defaults={"through": now - now % resolution})


def drop_watermarks(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_tracekit", "StatsCompacted").objects.using(
        schema_editor.connection.alias).filter(resolution__in=(MINUTE, HOUR)).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("django_tracekit", "0008_feature_stats"),
    ]

    operations = [
        migrations.AddField(
            model_name="featurestats",
            name="writer",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="featurestats",
            constraint=models.UniqueConstraint(
                fields=("feature", "resolution", "bucket_start", "version", "writer"),
                name="tracekit_stats_writer_unique"),
        ),
        migrations.RemoveConstraint(
            model_name="featurestats",
            name="tracekit_stats_unique",
        ),
        migrations.AlterField(
            model_name="featurestats",
            name="feature",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="+", to="django_tracekit.feature"),
        ),
        migrations.RunPython(start_watermarks, drop_watermarks),
    ]
