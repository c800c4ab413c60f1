"""tracekit's own wrapper frames (middleware, view span, ``@traced``, the SQL wrapper) are
hidden from Django's error pages and 500 reports (``__traceback_hide__``, which Django's
ExceptionReporter honours) and from the stacks tracekit records."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client, override_settings

from tests.conftest import Spans

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.http.error_urls")]

OWN = "/django_tracekit/"


@override_settings(DEBUG=True)
@pytest.mark.parametrize(("path", "raised"), [("/checkout/", "in charge"),
                                              ("/report/", "no_such_table_at_all")])
def test_debug_page_has_no_tracekit_frames(path: str, raised: str, spans: Spans) -> None:
    page = Client(raise_request_exception=False).get(path, HTTP_ACCEPT="text/plain")
    assert page.status_code == 500
    text = page.content.decode()
    assert "tests/http/error_urls.py" in text and raised in text  # the team's frames
    assert "django/core/handlers/base.py" in text  # Django's own frames stay
    assert OWN not in text, text
    # The recorded stack (on the server span) leaves them out too.
    stack = next(e.attributes["exception.stacktrace"] for s in spans.all()
                 for e in s.events if e.name == "exception")
    assert "tests/http/error_urls.py" in stack and OWN not in stack, stack


@override_settings(DEBUG=False, ADMINS=[("Ops", "ops@example.com")],
                   EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_admin_error_email_has_no_tracekit_frames() -> None:
    assert Client(raise_request_exception=False).get("/checkout/").status_code == 500
    assert len(mail.outbox) == 1
    report = mail.outbox[0].body
    assert "card declined for 42" in report and "tests/http/error_urls.py" in report
    assert OWN not in report, report
