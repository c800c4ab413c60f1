""""Tracekit / Releases" in the admin's index and sidebar: a proxy of ``Feature`` (no table,
no permissions of its own) whose changelist is the releases page
(``admin:tracekit_changes``), for staff holding ``django_tracekit.view_feature``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from django_tracekit.storage.usage_models import Feature


class Release(Feature):
    class Meta:
        proxy = True
        verbose_name = _("release comparison")
        verbose_name_plural = _("releases")
        default_permissions = ()
