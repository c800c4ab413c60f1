"""The admin's page families are registered as stand-ins (pages/deferred.py): same URLs as
their real ModelAdmins, the real code imported only when the admin first needs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils.module_loading import import_string

from django_tracekit.pages.deferred import DeferredAdmin
from django_tracekit.pages.registration import ADMINS
from tests.support.scripts import ROOT

# The modules of the page families: what a worker that never serves the admin need not load.
PAGE_CODE = ("django_tracekit.pages.usage", "django_tracekit.pages.traces",
             "django_tracekit.pages.errors", "django_tracekit.pages.unused",
             "django_tracekit.pages.releases.releases_admin",
             "django_tracekit.pages.releases.compare", "django_tracekit.pages.shared.window",
             "django_tracekit.pages.shared.charts")


def _table(urls: list[Any]) -> list[tuple[str, str | None, str]]:
    """(route, name, the method the view calls) of each URL of a ModelAdmin."""
    rows = []
    for url in urls:
        assert isinstance(url, URLPattern)
        view = getattr(url.callback, "__wrapped__", url.callback)
        rows.append((str(url.pattern), url.name, getattr(view, "__name__", "")))
    return rows


@pytest.mark.parametrize("model, stand_in", ADMINS, ids=lambda v: getattr(v, "__name__", ""))
def test_stand_in_has_the_real_admins_urls(model: type, stand_in: type[DeferredAdmin]) -> None:
    assert issubclass(stand_in, DeferredAdmin)
    site = admin.AdminSite(name="deferred-test")
    real = import_string(stand_in.real_admin)(model, site)
    assert _table(stand_in(model, site).get_urls()) == _table(real.get_urls())


def test_nothing_of_the_pages_is_imported_until_the_admin_needs_it() -> None:
    # A fresh process: the URLconf loaded, admin URLs reversed (what the middleware's
    # own-page prefixes and check W023 do), every system check run.
    script = (
        "import django, json, sys\n"
        "django.setup()\n"
        "from django.core import checks\n"
        "from django.urls import reverse\n"
        "paths = [reverse('admin:tracekit_usage'), reverse('admin:tracekit_trace', args=['a']),"
        " reverse('admin:app_list', kwargs={'app_label': 'django_tracekit'})]\n"
        "messages = [m.id for m in checks.run_checks(include_deployment_checks=False)]\n"
        "print(json.dumps({'paths': paths, 'errors': [m for m in messages if '.E' in m],"
        " 'modules': sorted(sys.modules)}))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["paths"] == ["/admin/django_tracekit/feature/",
                             "/admin/django_tracekit/trace/a/", "/admin/django_tracekit/"]
    assert seen["errors"] == []
    loaded = [m for m in seen["modules"] if m.startswith(PAGE_CODE)]
    assert loaded == []
    assert "django_tracekit.pages.registration" in seen["modules"]


@pytest.mark.django_db
def test_admin_index_lists_the_section_with_the_real_permissions() -> None:
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(
        codename="view_feature", content_type__app_label="django_tracekit"))
    client = Client()
    client.force_login(viewer)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    section = index.context["app_list"]
    tracekit = next(app for app in section if app["app_label"] == "django_tracekit")
    # view_feature: usage, releases and error groups (the real admins' permissions); not
    # the traces (view_trace), nothing addable or changeable.
    assert sorted(m["object_name"] for m in tracekit["models"]) == [
        "ErrorGroup", "Feature", "Release"]
    assert not any(m["perms"]["add"] or m["perms"]["change"] or m["perms"]["delete"]
                   for m in tracekit["models"])
    assert client.get(reverse("admin:tracekit_usage")).status_code == 200
    assert client.get(reverse("admin:tracekit_traces")).status_code == 403

    other = User.objects.create_user("other", password="pw", is_staff=True)
    client.force_login(other)
    index = client.get(reverse("admin:index"))
    assert not any(app["app_label"] == "django_tracekit" for app in index.context["app_list"])
    assert client.get(reverse("admin:tracekit_usage")).status_code == 403
