"""install(), the system check and the redaction rule, in fresh interpreters or in-process."""

from __future__ import annotations

import json

import pytest

from django_tracekit.conf import resolve
from django_tracekit.destinations import sentry
from django_tracekit.destinations.sentry import client, version
from tests.support.scripts import check, run_django

pytestmark = pytest.mark.requires("sentry_sdk")

DSN = "http://public@127.0.0.1:9/1"  # discard port: nothing is sent in these tests


def test_install_is_idempotent_and_never_reinitialises_the_applications_client():
    result = check(run_django("""
        import sentry_sdk
        # As applications do: Sentry initialised in settings, before django.setup().
        sentry_sdk.init(dsn="http://app@127.0.0.1:9/2", environment="app-env")
        client = sentry_sdk.get_client()
        django.setup()  # TracekitConfig.ready() installs the forwarding
        from django_tracekit.core import errors
        from django_tracekit.conf import get_config
        from django_tracekit.destinations import sentry
        from django_tracekit.destinations.sentry import events
        first = sentry.install(get_config())
        second = sentry.install(get_config())
        print(json.dumps({
            "same": first is second, "enabled": first.enabled, "owns": first.owns_client,
            "client_kept": sentry_sdk.get_client() is client,
            "dsn": sentry_sdk.get_client().dsn,
            "listeners": sum(1 for l in errors.error_listeners if l is events.forward),
        }))
    """, {"TRACEKIT": {"EXPORTER": "none", "SENTRY": {"DSN": DSN}}}, setup=False))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "same": True, "enabled": True, "owns": False, "client_kept": True,
        "dsn": "http://app@127.0.0.1:9/2", "listeners": 1}


def test_install_initialises_sentry_without_tracing_pii_or_locals():
    result = check(run_django("""
        import sentry_sdk
        from django_tracekit.conf import get_config
        from django_tracekit.destinations import sentry
        status = sentry.install(get_config())
        options = sentry_sdk.get_client().options
        print(json.dumps({
            "owns": status.owns_client, "dsn": options["dsn"],
            "environment": options["environment"],
            "traces_sample_rate": options["traces_sample_rate"],
            "pii": sentry_sdk.get_client().should_send_default_pii(),
            "locals": options["include_local_variables"],
            "in_app_include": options["in_app_include"],
            "default_integrations": options["default_integrations"],
        }))
    """, {"TRACEKIT": {"EXPORTER": "none", "SENTRY": {"DSN": DSN, "ENVIRONMENT": "prod"}}}))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "owns": True, "dsn": DSN, "environment": "prod", "traces_sample_rate": None,
        "pii": False, "locals": False, "in_app_include": ["shop"],
        "default_integrations": True}


def test_install_refuses_without_dsn_or_client():
    result = check(run_django("""
        from django_tracekit.conf import get_config
        from django_tracekit.destinations import sentry
        import sentry_sdk
        status = sentry.install(get_config())
        print(json.dumps([status.enabled, status.reason, sentry_sdk.get_client().is_active()]))
    """, {"TRACEKIT": {"EXPORTER": "none"}}))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        False, "no DSN configured and no Sentry client initialised", False]


def test_sentry_3_is_refused_with_a_check_error(monkeypatch):
    monkeypatch.setattr(version, "sdk_version", lambda: "3.0.0a4")
    monkeypatch.setattr(client, "_status", None)
    config = resolve({"SENTRY": {"DSN": DSN}}, {})
    [message] = sentry.check_sentry(config)
    assert message.id == "django_tracekit.E017"
    assert message.msg.startswith("sentry-sdk 3.0.0a4 is not supported")
    assert "sentry-sdk>=2,<3" in str(message.hint)
    status = sentry.install(config)
    assert status.enabled is False
    assert "django_tracekit.E017" in status.reason


def test_dsn_without_the_extra_is_a_check_error(monkeypatch):
    monkeypatch.setattr(version, "sdk_version", lambda: None)
    [message] = sentry.check_sentry(resolve({"SENTRY": {"DSN": DSN}}, {}))
    assert message.id == "django_tracekit.E018"
    assert sentry.check_sentry(resolve({}, {})) == []


def test_supported_sdk_passes_the_check():
    assert sentry.check_sentry(resolve({"SENTRY": {"DSN": DSN}}, {})) == []


def test_redaction_rule_covers_breadcrumbs_extra_contexts_and_frames():
    event = {
        "request": {"url": "http://h/p?token=t1&page=2", "cookies": {"sessionid": "c1"},
                    "headers": {"X-Api-Key": "k1", "Accept": "a"}},
        "extra": {"db_password": "p1", "nested": {"refresh_token": "t2", "ok": 1}},
        "contexts": {"trace": {"trace_id": "abc"}, "payment": {"card_secret": "s1"}},
        "breadcrumbs": {"values": [{"data": {"url": "http://x/?api_key=k2", "auth": "a1"},
                                    "message": "GET /login?otp=o1"}]},
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"password": "p2",
                                                                      "n": "1"}}]}}]},
        "threads": {"values": [{"stacktrace": {"frames": [{"vars": {
            "pairs": [["pin", "p3"]], "body": "b'passphrase=p4&x=1'"}}]}}]},
    }
    sentry.redact_event(event, send_pii=False)
    assert event == {
        "request": {"url": "http://h/p?token=%5Bredacted%5D&page=2",
                    "headers": {"X-Api-Key": "[redacted]", "Accept": "a"}},
        "extra": {"db_password": "[redacted]", "nested": {"refresh_token": "[redacted]", "ok": 1}},
        "contexts": {"trace": {"trace_id": "abc"}, "payment": {"card_secret": "[redacted]"}},
        "breadcrumbs": {"values": [{"data": {"url": "http://x/?api_key=%5Bredacted%5D",
                                             "auth": "[redacted]"},
                                    "message": "GET /login?otp=[redacted]"}]},
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"password": "[redacted]",
                                                                      "n": "1"}}]}}]},
        "threads": {"values": [{"stacktrace": {"frames": [{"vars": {
            "pairs": [["pin", "[redacted]"]], "body": "b'passphrase=[redacted]&x=1'"}}]}}]},
    }
