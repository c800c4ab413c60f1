"""Error groups: type + in-app raise location, never the message."""

from __future__ import annotations

import concurrent.futures
import json

import pytest

from django_tracekit.core.fingerprint import fingerprint_of, group_of


class OrderMissing(Exception):
    pass


def find_order(pk: int) -> None:
    raise OrderMissing(f"order {pk} not found")


def find_invoice(pk: int) -> None:
    raise OrderMissing(f"invoice {pk} not found")


def caught(call: object, *args: object) -> BaseException:
    try:
        call(*args)  # type: ignore[operator]
    except Exception as exc:
        return exc
    raise AssertionError("no exception")


def test_same_type_and_location_different_messages_one_group() -> None:
    first, second = group_of(caught(find_order, 4)), group_of(caught(find_order, 7))
    assert first == second
    assert first.type == "tests.test_fingerprint.OrderMissing"
    assert first.location == "tests/test_fingerprint/find_order"
    assert len(first.fingerprint) == 16 and int(first.fingerprint, 16) >= 0


def test_different_location_two_groups() -> None:
    assert group_of(caught(find_order, 4)).fingerprint \
        != group_of(caught(find_invoice, 4)).fingerprint


def test_different_type_two_groups() -> None:
    def fail(kind: type[Exception]) -> None:
        raise kind("x")

    assert group_of(caught(fail, ValueError)).fingerprint \
        != group_of(caught(fail, KeyError)).fingerprint


def parse_payload(text: str) -> object:
    return json.loads(text)  # raises inside the standard library


def test_library_frames_skipped() -> None:
    group = group_of(caught(parse_payload, "{not json"))
    assert group.type == "json.decoder.JSONDecodeError"
    # The innermost frame is json's decoder; the group names the team's frame that called it.
    assert group.location == "tests/test_fingerprint/parse_payload"
    assert group.file_path.endswith("tests/test_fingerprint.py")


def _library_only_error() -> ValueError:
    """A ValueError whose traceback has no frame of the team's (raised inside json)."""
    try:
        json.loads("{")
    except ValueError as exc:
        exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
        return exc
    raise AssertionError("json accepted '{'")


def test_only_library_frames_recorded_from_team_code_name_the_team_caller() -> None:
    # A failed query recorded on its span: the traceback holds only the driver's frames;
    # the team's code that ran the query is among the callers of the recording point.
    group = group_of(_library_only_error())
    assert group.location.endswith(
        "test_fingerprint/test_only_library_frames_recorded_from_team_code_name_the_team_caller")


def test_only_library_frames_anywhere_fall_back_to_the_innermost() -> None:
    # Recorded from a thread with no frame of the team's on its stack either: the
    # traceback's innermost frame names the group.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its thread runs only stdlib code
        group = pool.submit(group_of, _library_only_error()).result()
    assert group.location.endswith("json/decoder/JSONDecoder/raw_decode")


def test_never_raised_uses_the_recording_site() -> None:
    import sys

    group = group_of(ValueError("built, not raised"), sys._getframe())
    assert group.location.endswith("test_never_raised_uses_the_recording_site")


def test_computed_once_per_exception() -> None:
    exc = caught(find_order, 1)
    assert group_of(exc) is group_of(exc)


def test_fingerprint_is_stable() -> None:
    # The same in every process and release: a hash of type and location only.
    assert fingerprint_of("ValueError", "shop/a/b") == fingerprint_of("ValueError", "shop/a/b")
    assert fingerprint_of("ValueError", "shop/a/b") != fingerprint_of("ValueError", "shop/a/c")


@pytest.mark.parametrize("module", ["django.core.handlers", "django_tracekit.api"])
def test_django_and_tracekit_are_not_team_code(module: str) -> None:
    from django_tracekit.core.fingerprint import is_team_code

    code = compile("pass", __file__, "exec")
    assert not is_team_code(code, module)
    assert is_team_code(compile("x = 1", __file__, "exec"), "tests.anything")


def test_message_without_type() -> None:
    from django_tracekit.core.fingerprint import message_without_type

    assert message_without_type("app.E: app.E: x", "app.E") == "app.E: x"
    assert message_without_type("app.E: invalid.pdf", "app.E") == "invalid.pdf"
    assert message_without_type("app.E", "app.E") == ""
    assert message_without_type("other text", "app.E") == "other text"
