"""django_tracekit.core.testrun: how a process knows it runs tests, and that it stays one."""

from __future__ import annotations

import django.test.utils

from tests.support.scripts import check, run_django


def test_django_still_marks_the_test_environment_where_testrun_looks() -> None:
    # The private mark testrun reads (guarded: without it, the documented mail.outbox).
    assert hasattr(django.test.utils, "_TestState")
    assert hasattr(django.test.utils._TestState, "saved_data")  # pytest-django set it up


def test_setup_test_environment_starts_a_test_run_that_outlives_its_teardown() -> None:
    result = check(run_django("""
        from django.test.utils import setup_test_environment, teardown_test_environment
        from django_tracekit.core import testrun
        print("before", testrun.active())
        setup_test_environment()
        print("during", testrun.active())
        teardown_test_environment()
        print("after", testrun.active())  # the exit flush comes after the teardown
    """, {}))
    assert result.stdout.split() == ["before", "False", "during", "True", "after", "True"]


def test_without_the_private_mark_the_test_outbox_tells() -> None:
    result = check(run_django("""
        import django.test.utils as utils
        from django.core import mail
        from django_tracekit.core import testrun
        del utils._TestState  # a Django without it
        print(testrun._in_test_environment())
        mail.outbox = []  # what setup_test_environment() does (documented)
        print(testrun._in_test_environment())
    """, {}))
    assert result.stdout.split() == ["False", "True"]


def test_the_test_command_is_a_test_run_from_the_start() -> None:
    result = check(run_django("""
        import sys
        from django_tracekit.core import testrun
        sys.argv = ["manage.py", "check"]
        print(testrun.active())
        sys.argv = ["manage.py", "test", "shop"]
        print(testrun.active())
    """, {}))
    assert result.stdout.split() == ["False", "True"]
