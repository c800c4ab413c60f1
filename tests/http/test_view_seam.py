"""``BaseHandler.make_view_atomic`` is a private seam (docs/PRIVATE_SEAMS.md): used only if
it is there, and a clear warning instead of a failure when it is not."""

from __future__ import annotations

import pytest
from django.core.handlers.base import BaseHandler

from django_tracekit.sources.http import view_spans


def test_the_seam_exists_on_this_django() -> None:
    assert callable(getattr(BaseHandler, "make_view_atomic", None))


def test_a_django_without_the_seam_gets_a_warning_not_an_error(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delattr(BaseHandler, "make_view_atomic")
    view_spans.install()  # does not raise
    assert not hasattr(BaseHandler, "make_view_atomic")  # nothing patched in its place
    assert any("no BaseHandler.make_view_atomic" in r.getMessage() for r in caplog.records)
