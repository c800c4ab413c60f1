# ruff: noqa: RUF012  (migration class attributes, as makemigrations writes them)
# A flush writes one row per feature (its own minute row), no hour row: the merge adds each
# minute to its hour's row as it moves the minute watermark past it, so an hour row holds
# the minutes before that watermark and the rest are read as minutes
# (storage.usage_models.split_hours). Before, every flush added to its hour row too.
#
# Forward: the watermark goes back to the start of its hour and that hour's rows (and any
# later ones) are deleted: their minutes are all there, and the merge adds them to their
# hours again (a merged minute is added as it is). Backward: hour rows again hold every
# minute: the hours from the watermark's on are rebuilt as one row per minute row (the
# hour's rows are summed by every read, and merged into one when the hour closes).

from typing import Any

from django.db import migrations

MINUTE, HOUR = 60, 3600


def _mark(apps: Any, alias: str) -> tuple[Any, int]:
    """The minute watermark's row (made at now when missing) and its hour's start."""
    import time

    compacted = apps.get_model("django_tracekit", "StatsCompacted").objects.using(alias)
    now = int(time.time())
    mark, _ = compacted.get_or_create(resolution=MINUTE,
                                      defaults={"through": now - now % MINUTE})
    return mark, mark.through - mark.through % HOUR


def hours_from_minutes(apps: Any, schema_editor: Any) -> None:
    alias = schema_editor.connection.alias
    mark, hour = _mark(apps, alias)
    stats = apps.get_model("django_tracekit", "FeatureStats").objects.using(alias)
    stats.filter(resolution=HOUR, bucket_start__gte=hour).delete()
    mark.through = hour
    mark.save(using=alias)


def hours_with_minutes(apps: Any, schema_editor: Any) -> None:
    alias = schema_editor.connection.alias
    hour = _mark(apps, alias)[1]
    model = apps.get_model("django_tracekit", "FeatureStats")
    stats = model.objects.using(alias)
    stats.filter(resolution=HOUR, bucket_start__gte=hour).delete()
    counters = ("calls", "errors", "duration_sum_us", "duration_max_us", "n_plus_one",
                "retries", "failed_attempts", "retried_tasks")
    rows = []
    # One hour row per minute row, its writer the minute row's id negated: unique, never a
    # process's (those are positive) and merged with the hour's other rows when it closes.
    for pk, feature_id, bucket, version, *rest in stats.filter(
            resolution=MINUTE, bucket_start__gte=hour).values_list(
            "id", "feature_id", "bucket_start", "version", *counters, "latency",
            "users").iterator(chunk_size=2000):
        rows.append(model(feature_id=feature_id, resolution=HOUR,
                          bucket_start=bucket - bucket % HOUR, version=version, writer=-pk,
                          **dict(zip(counters, rest[:8], strict=True)),
                          latency=bytes(rest[8] or b""), users=bytes(rest[9] or b"")))
    stats.bulk_create(rows, batch_size=500)
    compacted = apps.get_model("django_tracekit", "StatsCompacted").objects.using(alias)
    compacted.update_or_create(resolution=HOUR, defaults={"through": hour})


class Migration(migrations.Migration):

    dependencies = [
        ("django_tracekit", "0011_drop_prefix_indexes"),
    ]

    operations = [
        migrations.RunPython(hours_from_minutes, hours_with_minutes),
    ]
