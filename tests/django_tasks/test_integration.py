"""The integration is on exactly where django.tasks exists (Django 6.0+) and says why not
elsewhere."""

from __future__ import annotations

import django
import pytest

from django_tracekit.conf import get_config
from django_tracekit.integrations import decide
from django_tracekit.integrations.base import importable
from django_tracekit.sources.django_tasks.integration import DjangoTasksIntegration


def test_refusal_names_the_django_version() -> None:
    refusal = DjangoTasksIntegration(get_config()).refusal()
    if importable("django.tasks"):
        assert refusal is None
    else:
        assert refusal == ("django.tasks is not available: it comes with Django 6.0 "
                           f"(this is Django {django.get_version()})")


@pytest.mark.skipif(django.VERSION >= (6, 0), reason="Django < 6.0 has no django.tasks")
def test_refused_before_django_6() -> None:
    decisions = {d.integration.identifier: d.refusal for d in decide(get_config())}
    assert decisions["django_tasks"] is not None
    assert "Django 6.0" in decisions["django_tasks"]
