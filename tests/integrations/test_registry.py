"""The registry: every integration decides on/off from settings and installed libraries,
refuses with a reason, and ``manage.py tracekit_status`` shows the decisions."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import override_settings

from django_tracekit.conf import get_config
from django_tracekit.integrations import REGISTRY, decide
from django_tracekit.integrations.base import Integration, importable
from tests.conftest import PROFILE


def _decisions(**tracekit: object) -> dict[str, str | None]:
    with override_settings(TRACEKIT=tracekit):
        return {d.integration.identifier: d.refusal for d in decide(get_config())}


def test_every_registered_path_is_an_integration_with_a_unique_identifier() -> None:
    decisions = decide(get_config())
    assert len(decisions) == len(REGISTRY)
    assert all(isinstance(d.integration, Integration) for d in decisions)
    identifiers = [d.integration.identifier for d in decisions]
    assert len(set(identifiers)) == len(identifiers)
    roles = [d.integration.role for d in decisions]
    # The data flow reads in order: every source before every destination.
    assert roles == sorted(roles, key=lambda r: r != "source")


def test_settings_turn_integrations_off_with_the_reason() -> None:
    off = _decisions(STATS={"ENABLED": False}, AUTOTRACE={"INCLUDE": []}, EXPORTER="none")
    assert off["stats"] == "TRACEKIT['STATS']['ENABLED'] is False"
    assert off["autotrace"] == "TRACEKIT['AUTOTRACE']['INCLUDE'] is []"
    assert off["export"] is not None and "'none'" in off["export"]
    on = _decisions(EXPORTER="console")
    assert on["stats"] is None and on["autotrace"] is None and on["export"] is None
    assert on["http_server"] is None


def test_a_missing_extra_is_a_refusal_naming_the_extra() -> None:
    decisions = _decisions()
    if PROFILE == "core":
        assert decisions["celery"] == "celery not installed (pip install 'django-tracekit[celery]')"
    else:
        assert decisions["celery"] is None
    assert not importable("no_such_module_for_tracekit.sub")


def test_sentry_is_off_without_a_dsn_or_an_initialised_sdk() -> None:
    refusal = _decisions()["sentry"]
    assert refusal is not None and "no DSN" in refusal


def test_tracekit_status_prints_every_decision() -> None:
    out = io.StringIO()
    with override_settings(TRACEKIT={"STATS": {"ENABLED": False}, "EXPORTER": "console"}):
        call_command("tracekit_status", stdout=out)
    text = out.getvalue()
    assert "project name:  tests" in text
    assert "exporter:      console" in text
    for identifier in ("autotrace", "http_server", "celery", "stats", "export", "sentry"):
        assert identifier in text
    assert "stats        off: TRACEKIT['STATS']['ENABLED'] is False" in text


@pytest.mark.parametrize("value", ["nonsense", 2.5])
def test_tracekit_status_reports_invalid_settings_instead_of_failing(value: object) -> None:
    out = io.StringIO()
    with override_settings(TRACEKIT={"SAMPLE_RATE": value}):
        call_command("tracekit_status", stdout=out)
    assert "django_tracekit.E0" in out.getvalue()
