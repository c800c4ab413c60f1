"""``?format=csv`` on the usage page: the contract columns, the page's filters and
permission, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from django_tracekit.core.histogram import RELATIVE_ERROR, bucket_index
from django_tracekit.core.sketch import Users, hash_user
from django_tracekit.destinations.stats import store
from django_tracekit.pages import csv_export as export
from tests.stats.test_admin import viewer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.stats.urls")]

MS = bucket_index(10**6)
HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
           # Whitespace a spreadsheet trims, and the full-width forms, before a formula.
           " =1+1", "\n=1+1", "  \t@SUM(A1)", "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)",
           " \uff1d1"]


def _export(client: Client, **params: str) -> list[dict[str, str]]:
    response = client.get(reverse("admin:tracekit_usage"), {"format": "csv", **params})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_columns_filters_and_formulas() -> None:
    minute = int(time.time()) // 60
    users = Users()
    for i in range(3):
        users.add(hash_user(str(i)))
    store.write({
        ("GET /a/", "request", "web", minute): [10, 1, 10 * 10**6, 2 * 10**6, {MS: 10}, 2,
                                               users, ""],
        ("shop/f", "function", "web", minute): [5, 0, 5 * 10**6, 10**6, {40: 5}],
        **{(name, "task", "=cmd()", minute): [1, 0, 10**6, 10**6, {40: 1}]
           for name in HOSTILE},
    })
    client = Client()
    client.force_login(viewer())
    rows = _export(client, range="1h")
    assert list(rows[0])[:9] == ["feature", "kind", "service", "calls", "errors", "users",
                                 "p50_ms", "p95_ms", "p99_ms"]
    by_name = {r["feature"]: r for r in rows}
    # Entry points, as the page lists by default; the function is one filter away.
    assert "shop/f" not in by_name
    a = by_name["GET /a/"]
    assert (a["kind"], a["calls"], a["errors"], a["users"], a["n_plus_one"]) == (
        "request", "10", "1", "3", "2")
    assert float(a["p50_ms"]) == pytest.approx(1.0, rel=RELATIVE_ERROR)
    for name in HOSTILE:
        assert "'" + name in by_name, name  # quoted: text, never a formula
        assert by_name["'" + name]["service"] == "'=cmd()"
    assert [r["feature"] for r in _export(client, range="1h", kind="function")] == ["shop/f"]
    assert [r["feature"] for r in _export(client, range="1h", kind="all", q="/a/")] == [
        "GET /a/"]


@pytest.mark.parametrize("value", ["shop/f", "GET /a/", "a=b", "x-1", " plain", "\uff21bc"])
def test_ordinary_text_is_not_quoted(value: str) -> None:
    assert export._text(value) == value


def test_same_permission_as_the_page() -> None:
    client = Client()
    client.force_login(User.objects.create_user("staff", is_staff=True))
    assert client.get(reverse("admin:tracekit_usage"), {"format": "csv"}).status_code == 403
    assert Client().get(reverse("admin:tracekit_usage"), {"format": "csv"}).status_code == 302
