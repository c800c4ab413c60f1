"""Returning a flush's freed heap to the OS (storage/trim.py): glibc only, never raises."""

from __future__ import annotations

import platform

import pytest

from django_tracekit.storage import trim


def test_it_finds_malloc_trim_on_glibc_and_calls_it() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    trim.release_free_heap()
    assert trim._trim is not None and trim._trim(0) in (0, 1)


def test_a_failing_trim_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(pad: int) -> int:
        raise OSError("no such symbol")

    monkeypatch.setattr(trim, "_trim", broken)
    monkeypatch.setattr(trim, "_loaded", True)
    trim.release_free_heap()  # logged at DEBUG, nothing raised


def test_without_glibc_it_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trim.sys, "platform", "darwin")
    assert trim._load() is None
