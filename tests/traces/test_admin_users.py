"""The trace pages name a trace's user (pontoon trial: the User column showed "5", "7")."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from tests.support.traces import SpanSpec, make_trace, span_id, trace_id

pytestmark = pytest.mark.django_db


def viewer(*extra: str) -> Client:
    account = User.objects.create_user("viewer", is_staff=True)
    account.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_trace", "view_feature", *extra]))
    client = Client()
    client.force_login(account)
    return client


def pages(client: Client, tid: str) -> tuple[str, str]:
    listed = client.get(reverse("admin:tracekit_traces"))
    shown = client.get(reverse("admin:tracekit_trace", args=[tid]))
    assert listed.status_code == shown.status_code == 200
    return listed.content.decode(), shown.content.decode()


def test_the_user_is_named_for_viewers_who_may_see_users() -> None:
    alice = User.objects.create_user("alice")
    make_trace(trace_id(1), [SpanSpec("GET /", span_id(1), kind="server")],
               user_id=str(alice.pk))
    make_trace(trace_id(2), [SpanSpec("GET /", span_id(2), kind="server")],
               user_id="not-a-pk")  # a foreign or tampered id: shown as it is
    listed, shown = pages(viewer("view_user"), trace_id(1))
    assert f'title="user id {alice.pk}">alice</span>' in listed
    assert f'title="user id {alice.pk}">alice</span>' in shown
    assert "not-a-pk" in listed


def test_without_the_view_user_permission_the_id_stays() -> None:
    alice = User.objects.create_user("alice")
    make_trace(trace_id(1), [SpanSpec("GET /", span_id(1), kind="server")],
               user_id=str(alice.pk))
    listed, shown = pages(viewer(), trace_id(1))
    assert ">alice<" not in listed and ">alice<" not in shown
    assert f'<span class="tk-mono">{alice.pk}</span>' in shown
