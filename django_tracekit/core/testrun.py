"""Is this process running a test suite? (Then tracekit writes nothing to a database.)

Both Django's test runner (``manage.py test``) and pytest-django call
``django.test.utils.setup_test_environment()`` before the first test and
``teardown_test_environment()`` after the last one; between the two, Django keeps the
values it replaced in ``_TestState.saved_data`` (private: guarded, and tested on every
supported Django). That call comes after ``django.setup()`` (where tracekit starts), and
its mark is gone again at exit, when the last flush runs; so two public facts decide for
the moments outside that window: the ``test`` management command is the one running, or
the pytest-django plugin is loaded. Once seen, a test run stays one until the process
ends: the database Django restores after the tests is not theirs to write to.
"""

from __future__ import annotations

import sys

__all__ = ["active", "mark"]

_seen = False


def _in_test_environment() -> bool:
    utils = sys.modules.get("django.test.utils")
    if utils is None:  # never imported: setup_test_environment() cannot have run
        return False
    state = getattr(utils, "_TestState", None)
    if state is not None:
        return hasattr(state, "saved_data")
    # Without the private mark: the documented test outbox setup_test_environment() creates.
    mail = sys.modules.get("django.core.mail")
    return mail is not None and hasattr(mail, "outbox")


def _test_command() -> bool:
    argv = sys.argv
    return len(argv) > 1 and argv[1] == "test"


def active() -> bool:
    """``True`` in a test run (``manage.py test``, pytest-django, or after :func:`mark`)."""
    global _seen
    if not _seen and (_in_test_environment() or _test_command()
                      or "pytest_django" in sys.modules):
        _seen = True
    return _seen


def mark() -> None:
    """Declare this process a test run (for runners that neither use Django's
    ``setup_test_environment()`` nor pytest-django)."""
    global _seen
    _seen = True
