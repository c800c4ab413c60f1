"""tracekit's own admin pages, and static and media files: not the team's requests.

They are answered untraced, like ``EXCLUDED_URLS``: no request feature, no view or function
span under them, no kept trace (a page reading the trace store would otherwise fill it with
its own slow reads; every CSS/JS file WhiteNoise or ``django.views.static.serve`` answers
would be a "GET (unmatched)" call). Known by URL prefix, so the decision is made before the
request span starts: ``{admin}/django_tracekit/`` of every admin site that registers
tracekit's models (every tracekit page lives there), ``STATIC_URL`` and ``MEDIA_URL`` when
they are paths on this site (not another host, not "/"). Computed on the first request (the
URLconf is loaded by then), cached per ``ROOT_URLCONF`` (a test runner may swap it without
Django's ``setting_changed``), forgotten when the settings change.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.urls import NoReverseMatch, reverse

logger = logging.getLogger("django_tracekit")

APP_LABEL = "django_tracekit"
_prefixes: dict[str, tuple[str, ...]] = {}  # ROOT_URLCONF -> prefixes
_lock = threading.Lock()


def _admin_prefixes() -> list[str]:
    from django.contrib.admin.sites import all_sites

    found = []
    for site in list(all_sites):
        if not any(model._meta.app_label == APP_LABEL for model in site._registry):
            continue
        try:
            found.append(reverse(f"{site.name}:app_list", kwargs={"app_label": APP_LABEL}))
        except NoReverseMatch:  # this site's URLs are not in the URLconf
            continue
    return found


def _file_prefixes() -> list[str]:
    """STATIC_URL and MEDIA_URL (Django gives both with the script prefix) when local."""
    found = []
    for name in ("STATIC_URL", "MEDIA_URL"):
        url = str(getattr(settings, name, None) or "")
        # Another host (a CDN) is never a request here; "/" would be the whole site.
        if url.startswith("/") and not url.startswith("//") and url.rstrip("/"):
            found.append(url.rstrip("/") + "/")
    return found


def _compute() -> tuple[str, ...]:
    prefixes: list[str] = _file_prefixes()
    if "django.contrib.admin" in settings.INSTALLED_APPS or any(
            str(app).startswith("django.contrib.admin.") for app in settings.INSTALLED_APPS):
        prefixes.extend(_admin_prefixes())
    return tuple(p for p in prefixes if p and p != "/")


def prefixes() -> tuple[str, ...]:
    """The path prefixes of tracekit's own pages, static and media files (computed once)."""
    urlconf = str(getattr(settings, "ROOT_URLCONF", ""))
    current = _prefixes.get(urlconf)
    if current is None:
        try:
            current = _compute()
        except Exception:  # a URLconf that does not import yet: Django reports it
            logger.debug("tracekit: could not find the admin's URLs", exc_info=True)
            return ()
        with _lock:
            _prefixes[urlconf] = current
    return current


def is_own(path: str) -> bool:
    """Whether ``path`` (``request.path``) is tracekit's own page, a static or media file."""
    own = prefixes()
    return bool(own) and path.startswith(own)


def clear() -> None:
    with _lock:
        _prefixes.clear()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ROOT_URLCONF", "STATIC_URL", "MEDIA_URL", "INSTALLED_APPS", "TRACEKIT"):
        clear()


setting_changed.connect(_on_setting_changed, dispatch_uid="django_tracekit.sources.http.own")
