"""The error-groups page: counts for view_feature, messages only with view_trace, escaped."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from django_tracekit.core.fingerprint import Group
from django_tracekit.destinations.stats import groups_store
from django_tracekit.destinations.stats.groups import Example, GroupBatch, Occurrence
from django_tracekit.storage.usage_models import Feature

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]

GROUP_ROW = re.compile(r'<tr data-group="([0-9a-f]{16})" data-count="(\d+)">')
HOSTILE = '<script>alert("x")</script> order 4 not found'


def user(*codenames: str, name: str = "viewer") -> User:
    account = User.objects.create_user(name, password="pw", is_staff=True)
    for codename in codenames:
        account.user_permissions.add(Permission.objects.get(
            codename=codename, content_type__app_label="django_tracekit"))
    return account


def seed(now: float | None = None) -> tuple[Group, Group]:
    minute = int(now or time.time()) // 60
    missing = Group("1" * 16, "shop.orders.OrderMissing", "shop/orders/services/find", "f.py", 12)
    other = Group("2" * 16, "ValueError", "shop/billing/charge", "b.py", 40)
    batch = GroupBatch(groups={missing.fingerprint: missing, other.fingerprint: other})
    batch.counts = {(missing.fingerprint, "GET /orders/<int:pk>/", "request", "web", minute): 7,
                    (missing.fingerprint, "shop/tasks/sync", "task", "worker", minute): 2,
                    (other.fingerprint, "GET /pay/", "request", "web", minute): 1}
    batch.examples = [
        Example(missing.fingerprint, "GET /orders/<int:pk>/", "request", "web",
                Occurrence(missing, minute * 60 * 10**9, HOSTILE, "Traceback ...\n  in find",
                           "ab" * 16, "cd" * 8)),
        Example(other.fingerprint, "GET /pay/", "request", "web",
                Occurrence(other, minute * 60 * 10**9, "token=s3cret amount", "", "", ""))]
    groups_store.write(batch)
    return missing, other


def page(client: Client, **params: str) -> str:
    response = client.get(reverse("admin:tracekit_errors"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_groups_sorted_by_count_with_entry_points() -> None:
    missing, other = seed()
    client = Client()
    client.force_login(user("view_feature", "view_trace"))
    text = page(client)
    assert GROUP_ROW.findall(text) == [(missing.fingerprint, "9"), (other.fingerprint, "1")]
    orders = Feature.objects.get(name="GET /orders/<int:pk>/")
    assert reverse("admin:tracekit_usage_feature", args=[orders.pk]) in text
    assert "shop/tasks/sync" in text and "shop/orders/services/find" in text
    # Sorted the other way on request.
    ascending = page(client, sort="count")
    assert [g for g, _ in GROUP_ROW.findall(ascending)] == [other.fingerprint,
                                                             missing.fingerprint]
    # Messages for those who may read traces: escaped, secrets redacted.
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; order 4 not found" in text
    assert "<script>alert" not in text
    assert "s3cret" not in text and "token=[redacted]" in text
    assert f'?group={missing.fingerprint}' in text  # all its kept traces


def test_view_feature_without_view_trace_sees_no_messages() -> None:
    seed()
    client = Client()
    client.force_login(user("view_feature"))
    text = page(client)
    assert len(GROUP_ROW.findall(text)) == 2
    assert "shop.orders.OrderMissing" in text and "shop/orders/services/find" in text
    assert "order 4 not found" not in text and "amount" not in text
    assert "Traceback" not in text and "?group=" not in text
    assert 'id="tk-no-messages"' in text


def test_needs_view_feature() -> None:
    seed()
    client = Client()
    client.force_login(user("view_trace"))
    assert client.get(reverse("admin:tracekit_errors")).status_code == 403
    anonymous = Client().get(reverse("admin:tracekit_errors"))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_range_excludes_old_groups() -> None:
    seed(now=time.time() - 3 * 86400)
    client = Client()
    client.force_login(user("view_feature"))
    assert GROUP_ROW.findall(page(client, range="24h")) == []
    assert len(GROUP_ROW.findall(page(client, range="7d"))) == 2


def test_search_and_bad_input() -> None:
    seed()
    client = Client()
    client.force_login(user("view_feature"))
    assert [c for _, c in GROUP_ROW.findall(page(client, q="billing"))] == ["1"]
    text = page(client, sort="nonsense", q="x\x00y")
    assert "not allowed" in text  # named, not a 500


def test_feature_page_groups_its_errors() -> None:
    missing, _other = seed()
    client = Client()
    client.force_login(user("view_feature", "view_trace"))
    orders = Feature.objects.get(name="GET /orders/<int:pk>/")
    text = client.get(reverse("admin:tracekit_usage_feature", args=[orders.pk])).content.decode()
    section = text[text.index('id="tk-error-groups"'):]
    # Only what was raised under this entry point: 7 of the group's 9.
    assert GROUP_ROW.findall(section)[:1] == [(missing.fingerprint, "7")]
    assert section.count("<strong class=\"tk-err\">shop.orders.OrderMissing</strong>") == 1


def test_index_lists_error_groups() -> None:
    client = Client()
    client.force_login(user("view_feature"))
    index = client.get(reverse("admin:index")).content.decode()
    assert "Error groups" in index
    changelist = client.get(reverse("admin:django_tracekit_errorgroup_changelist"))
    assert changelist.status_code == 302
    assert changelist["Location"] == reverse("admin:tracekit_errors")


def test_example_messages_are_distinct() -> None:
    minute = int(time.time()) // 60
    group = Group("3" * 16, "shop.Refused", "shop/sync/push", "s.py", 3)
    batch = GroupBatch(groups={group.fingerprint: group})
    batch.counts = {(group.fingerprint, "GET /sync/", "request", "web", minute): 4}
    batch.examples = [
        Example(group.fingerprint, "GET /sync/", "request", "web",
                Occurrence(group, (minute * 60 + i) * 10**9, message, "", "", ""))
        for i, message in enumerate(["origin refused", "origin refused", "origin refused",
                                     "timed out"])]
    groups_store.write(batch)
    client = Client()
    client.force_login(user("view_feature", "view_trace"))
    text = page(client)
    assert text.count(">origin refused</div>") == 1  # seen on a real project: 5 copies
    assert text.count(">timed out</div>") == 1


def test_errors_recorded_in_calls_that_did_not_fail_are_said_apart() -> None:
    """A task that logged an exception and returned: 0 failed calls, 2 incidents in its
    group; the page says why both numbers are right. A request whose 7 incidents are its 7
    failed calls needs no such line."""
    from django_tracekit.destinations.stats import store

    seed()
    minute = int(time.time()) // 60
    store.write({("shop/tasks/sync", "task", "worker", minute): [3, 0, 3000, 1000, {10: 3}],
                 ("GET /orders/<int:pk>/", "request", "web", minute):
                     [9, 7, 9000, 1000, {10: 9}]})
    client = Client()
    client.force_login(user("view_feature", "view_trace"))

    def feature_page(name: str) -> str:
        feature = Feature.objects.get(name=name)
        return client.get(reverse("admin:tracekit_usage_feature", args=[feature.pk])
                          ).content.decode()

    task = feature_page("shop/tasks/sync")
    assert ('id="tk-recorded-in-ok-calls">2 errors were recorded (logger.exception, '
            "record_error) in calls that did not fail") in task
    assert 'id="tk-recorded-in-ok-calls"' not in feature_page("GET /orders/<int:pk>/")


def test_last_hour_trend_is_one_bar_per_hour_not_a_ramp() -> None:
    """Groups are counted per hour: "Last hour" covers two hour buckets. A burst in the
    current hour is one bar (titled per hour), never a line climbing from the hour before
    (trial 9, F6)."""
    seed()
    client = Client()
    client.force_login(user("view_feature"))
    text = page(client, range="1h")
    trends = re.findall(r'<svg class="tk-spark"[^>]*data-buckets="(\d+)"><title>([^<]*)</title>'
                        r'.*?<path class="tk-spark-bars" d="([^"]*)"/></svg>', text)
    assert len(trends) == 2
    for buckets, title, bars in trends:
        assert buckets == "2" and title.startswith("Errors per hour: ")
        assert bars.count("M") == 1  # the earlier hour had none: no bar, no slope
        assert float(bars[1:].split()[0]) >= 50  # in the right half: the current hour
    assert "tk-spark-line" not in text and "<polyline" not in text
