"""The commands integration is on by default and off with COMMANDS.ENABLED = False."""

from __future__ import annotations

from django.test import override_settings

from django_tracekit.conf import get_config
from django_tracekit.integrations import REGISTRY, decide
from django_tracekit.sources.commands.integration import CommandsIntegration


def test_registered_as_a_source_and_on_by_default() -> None:
    assert "django_tracekit.sources.commands.integration.CommandsIntegration" in REGISTRY
    decisions = {d.integration.identifier: d.refusal for d in decide(get_config())}
    assert decisions["commands"] is None
    assert CommandsIntegration.role == "source"


def test_off_when_disabled() -> None:
    with override_settings(TRACEKIT={"COMMANDS": {"ENABLED": False}}):
        refusal = CommandsIntegration(get_config()).refusal()
    assert refusal == "TRACEKIT['COMMANDS']['ENABLED'] is False"
