"""A system check that calls traced code: `check` and `migrate` have counts to flush."""

from typing import Any

from django.core.checks import CheckMessage

import django_tracekit as tracekit


@tracekit.traced
def count_stock() -> int:
    return 3


def check_inventory(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    count_stock()
    return []
