"""The admin's "Tracekit" section (Django looks here): the pages live in
:mod:`django_tracekit.pages`, one folder per page family; :mod:`django_tracekit.pages.registration`
registers their ModelAdmins."""

from django_tracekit.pages import registration

__all__ = ["registration"]

# tracekit's own data code: its queries never become spans (core.vocabulary.OWN_DATA_MARKER).
__tracekit_own_data__ = True
