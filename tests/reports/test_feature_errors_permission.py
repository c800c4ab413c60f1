"""Issue 21 item 6: the feature page shows error messages and stacks (captured locals, SQL)
only to users who may view traces (``view_trace``); ``view_feature`` alone sees counts and
exception types."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from django_tracekit.core.fingerprint import Group
from django_tracekit.destinations.stats import groups_store, store
from django_tracekit.destinations.stats.groups import Example, GroupBatch, Occurrence
from django_tracekit.models import Feature
from tests.stats.test_admin import viewer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]

MESSAGE = "order 42 of alice@example.com not found"
STACK_LOCAL = "customer_email = 'alice@example.com'"


@pytest.fixture(autouse=True)
def _fresh_feature_ids() -> Iterator[None]:
    store.clear_cache()  # feature ids of a rolled-back test database are stale
    yield
    store.clear_cache()


def _feature_with_an_error() -> Feature:
    minute = int(time.time()) // 60
    store.write({("GET /orders/<int:pk>/", "request", "web", minute): [3, 1, 3 * 10**6, 10**6,
                                                                       {40: 3}]})
    group = Group("4" * 16, "shop.orders.OrderMissing", "shop/orders/views/detail",
                  "shop/orders/views.py", 12)
    stack = ("Traceback (most recent call last):\n"
             '  File "shop/orders/views.py", line 12, in detail\n'
             f"    {STACK_LOCAL}\nshop.orders.OrderMissing: {MESSAGE}")
    batch = GroupBatch(groups={group.fingerprint: group})
    batch.counts = {(group.fingerprint, "GET /orders/<int:pk>/", "request", "web", minute): 1}
    batch.examples = [Example(group.fingerprint, "GET /orders/<int:pk>/", "request", "web",
                              Occurrence(group, time.time_ns() - 60 * 10**9, MESSAGE, stack,
                                         "4bf92f3577b34da6a3ce929d0e0e4736",
                                         "00f067aa0ba902b7"))]
    groups_store.write(batch)
    return Feature.objects.get(name="GET /orders/<int:pk>/")


def _page(client: Client, feature: Feature) -> str:
    response = client.get(reverse("admin:tracekit_usage_feature", args=[feature.pk]),
                          {"range": "1h"})
    assert response.status_code == 200
    return response.content.decode()


def test_view_feature_alone_sees_counts_not_messages_or_stacks() -> None:
    feature = _feature_with_an_error()
    client = Client()
    client.force_login(viewer())
    page = _page(client, feature)
    assert "shop.orders.OrderMissing" in page  # the type and the counts stay
    assert "alice@example.com" not in page
    assert "Stack trace" not in page
    assert "need the permission to view traces" in page


def test_view_trace_sees_messages_and_stacks() -> None:
    feature = _feature_with_an_error()
    user = viewer()
    user.user_permissions.add(Permission.objects.get(codename="view_trace",
                                                     content_type__app_label="django_tracekit"))
    client = Client()
    client.force_login(user)
    page = _page(client, feature)
    assert "order 42 of alice@example.com not found" in page
    assert "customer_email = &#x27;alice@example.com&#x27;" in page
    assert "need the permission to view traces" not in page
    assert page.count("shop.orders.OrderMissing</strong>") == 1  # one errors section
