"""The admin's "Tracekit" section (Django looks here): the pages live in
:mod:`django_tracekit.pages`, one folder per page family; :mod:`django_tracekit.pages.registration`
registers their ModelAdmins."""

from django_tracekit.pages import registration

__all__ = ["registration"]
