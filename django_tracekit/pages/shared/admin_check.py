"""System check ``django_tracekit.W023``: the admin, where tracekit's pages live, is reachable.

tracekit's pages (feature usage, unused code, traces) are Django admin pages. A project
without ``django.contrib.admin``, or without the admin's URLs in its URLconf, has them
nowhere, and nothing else would say so. A warning (``migrate``/``runserver`` still run);
not raised when the stats and the trace store are both off (nothing to show), and silenced
like any check in settings used only by a worker.
"""

from __future__ import annotations

from django.apps import apps
from django.core.checks import CheckMessage, Warning
from django.urls import NoReverseMatch, reverse

from django_tracekit.conf import Config

ID = "django_tracekit.W023"
_WORKER_HINT = (" (settings used only by Celery workers: add 'django_tracekit.W023' to "
                "SILENCED_SYSTEM_CHECKS)")


def usage_url() -> str | None:
    """The usage page's path on the first admin site that has it; None: no site has its
    URLs in the URLconf; "" when the URLconf cannot be loaded (Django's own check says)."""
    from django.contrib.admin.sites import all_sites

    for site in sorted(all_sites, key=lambda s: s.name != "admin"):  # the default first
        try:
            return reverse(f"{site.name}:tracekit_usage")
        except NoReverseMatch:
            continue
        except Exception:  # a URLconf that does not import: reported by Django's checks
            return ""
    return None


def check_admin(config: Config) -> list[CheckMessage]:
    if not (config.stats.enabled or config.traces.enabled):
        return []
    if not apps.is_installed("django.contrib.admin"):
        return [Warning(
            "'django.contrib.admin' is not in INSTALLED_APPS: tracekit's pages (feature "
            "usage, unused code, traces) are admin pages, so they are nowhere to be seen.",
            hint="Add 'django.contrib.admin' (it needs auth, contenttypes, sessions and "
                 "messages) to INSTALLED_APPS and path('admin/', admin.site.urls) to the "
                 "URLconf; the pages are then under /admin/django_tracekit/" + _WORKER_HINT
                 + ".", id=ID)]
    if usage_url() is None:
        return [Warning(
            "the admin's URLs are not in the URLconf: tracekit's pages (feature usage, "
            "unused code, traces) are admin pages, so they are nowhere to be seen.",
            hint="Add path('admin/', admin.site.urls) to the URLconf (ROOT_URLCONF); the "
                 "pages are then under /admin/django_tracekit/" + _WORKER_HINT + ".",
            id=ID)]
    return []
