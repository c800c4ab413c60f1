"""The one secrets rule (redaction.py): names, text, URLs, JSON-like data, live values."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.test import AsyncRequestFactory, RequestFactory

from django_tracekit.core.redaction import (
    describe_request,
    is_secret_name,
    redact_data,
    redact_query,
    redact_text,
    redact_url,
    safe_repr,
)

SECRET_NAMES = [
    "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "sessionid", "csrftoken",
    "X-CSRFToken", "db_password", "PASSWD", "pwd", "pw_from_form", "user_pw", "passphrase",
    "client_secret", "refresh_token", "X-Service-Token", "api_key", "apiKey", "X-Api-Key",
    "X-Access-Key", "HTTP_X_ACCESS_KEY", "accessKey", "private_key", "private", "auth",
    "oauth_token", "pin", "PIN", "pinCode", "user_pin", "pincode", "otp", "otp_code", "totp",
    "ssn", "cvv", "card_number", "creditCard", "signature", "credentials", "SENTRY_DSN", "jwt",
    # <anything>_key: vendor keys (issue 21).
    "stripe_key", "STRIPE_KEY", "stripeKey", "ssh_key", "hmac_key", "webhook_key",
    "sendgrid_key", "api_key_id",
]
# Ordinary words that contain a secret word: not redacted (decided deliberately).
ORDINARY_NAMES = [
    "spinner", "opinion", "keyboard", "pinned", "shipping", "mapping", "monkey", "cache_key",
    "key", "author", "authority", "bypass", "compass", "passenger", "page", "note",
    "description", "option", "spotted", "cotton", "privately",
    # <anything>_key that names an identifier or a structure (the allow list).
    "primary_key", "sort_key", "foreign_key", "partition_key", "lookup_key", "public_key",
    "idempotency_key", "redis.key", "cache.key", "keys", "key_func",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ORDINARY_NAMES)
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(("query", "expected"), [
    ("", ""),
    # Nothing secret: returned byte for byte (no re-encoding of what the client sent).
    ("q=a+b&page=2&x=%20", "q=a+b&page=2&x=%20"),
    ("page=2&token=abc", "page=2&token=%5Bredacted%5D"),
    ("api_key=k1&password=p&session_id=s&keep=1",
     "api_key=%5Bredacted%5D&password=%5Bredacted%5D&session_id=%5Bredacted%5D&keep=1"),
    ("flag&secret=", "flag&secret=%5Bredacted%5D"),  # blank values are redacted too
    # Percent-encoded keys are judged decoded; names outside the old pattern are secrets.
    ("api%5Fkey=k&pw_from_form=p&pin=1&spinner=on",
     "api%5Fkey=%5Bredacted%5D&pw_from_form=%5Bredacted%5D&pin=%5Bredacted%5D&spinner=on"),
    # Unencoded quotes or semicolons are part of a raw query value: all of it is hidden.
    ("token=ab'cd;ef\"gh&x=1", "token=%5Bredacted%5D&x=1"),
    ("x=1;password=p", "x=1;password=p"),  # ";" does not separate pairs (as parse_qsl)
])
def test_redact_query(query: str, expected: str) -> None:
    assert redact_query(query) == expected


def test_redact_url_hides_query_secrets_and_userinfo_passwords() -> None:
    assert redact_url("https://bob:hunter2@h:8/p?token=t&b=2#frag") == (
        "https://bob:%5Bredacted%5D@h:8/p?token=%5Bredacted%5D&b=2#frag")
    assert redact_url("/p") == "/p"


def test_redact_text_covers_urls_forms_and_json_in_any_text() -> None:
    text = ("<WSGIRequest: GET '/p/?token=t1&page=2'> body=b'pin=1234&note=hi' "
            '{"password": "p\\"1", "name": "ann"} {\'passphrase\': \'x y\'}')
    assert redact_text(text) == (
        "<WSGIRequest: GET '/p/?token=[redacted]&page=2'> body=b'pin=[redacted]&note=hi' "
        '{"password": "[redacted]", "name": "ann"} {\'passphrase\': \'[redacted]\'}')


def test_redact_text_hides_escaped_quotes_inside_a_value() -> None:
    assert redact_text(repr("/p?token=ab'cd\"ef&x=1")) == "'/p?token=[redacted]&x=1'"
    assert redact_text(repr("/p?x=1&token=ab'cd")) == '"/p?x=1&token=[redacted]"'
    assert redact_text("<A url='/p?pin=12'>") == "<A url='/p?pin=[redacted]'>"


def test_redact_text_is_linear_on_long_text() -> None:
    # A key may only start after a delimiter: no quadratic rescans of long runs (this
    # would take minutes otherwise; the assertion is about the result, not the time).
    text = "a" * 200_000 + "=v"
    assert redact_text(text) == text


def test_redact_data_by_key_pairs_and_text_at_any_depth() -> None:
    data = {"user": {"name": "ann", "Password": "p"}, "pairs": [["pin", "1"], ["a", "b"]],
            "raw": "x=1&otp=2", "n": 3, "deep": [{"api_key": "k"}]}
    assert redact_data(data) == {
        "user": {"name": "ann", "Password": "[redacted]"},
        "pairs": [["pin", "[redacted]"], ["a", "b"]], "raw": "x=1&otp=[redacted]", "n": 3,
        "deep": [{"api_key": "[redacted]"}]}


def _form_request():  # type: ignore[no-untyped-def]
    return RequestFactory().post(
        "/login/?token=q-secret&next=/home", "password=p-secret&pin=1234&note=hello",
        content_type="application/x-www-form-urlencoded")


def test_requests_are_shown_as_method_and_path_only() -> None:
    request = _form_request()
    assert "q-secret" in repr(request)  # Django's own repr shows the query string
    assert safe_repr(request) == "<WSGIRequest: POST '/login/'>"
    assert describe_request(object()) is None

    from rest_framework.request import Request  # keeps Django's request in _request

    drf = Request(RequestFactory().get("/api/?api_key=k-secret"))
    assert "k-secret" in repr(drf)
    assert safe_repr(drf) == "<Request: GET '/api/'>"
    asgi = AsyncRequestFactory().get("/feed/", {"access_token": "a-secret"})
    assert "a-secret" in repr(asgi)
    assert safe_repr([asgi]) == "[<ASGIRequest: GET '/feed/'>]"


def test_live_containers_are_redacted_by_key() -> None:
    request = _form_request()
    assert safe_repr(request.POST) == (
        "<QueryDict: {'password': '[redacted]', 'pin': '[redacted]', 'note': ['hello']}>")
    assert safe_repr(request.body) == "b'password=[redacted]&pin=[redacted]&note=hello'"
    assert safe_repr(list(request.POST.items())) == (
        "[('password', '[redacted]'), ('pin', '[redacted]'), ('note', 'hello')]")
    assert safe_repr({"user": {"name": "ann", "passphrase": "x"}}) == (
        "{'user': {'name': 'ann', 'passphrase': '[redacted]'}}")
    assert safe_repr(QueryDict("a=1&a=2")) == "<QueryDict: {'a': ['1', '2']}>"


def test_safe_repr_is_bounded_and_never_raises() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise ValueError("no")

    assert "Broken" in safe_repr(Broken())
    huge = {i: "v" * 1000 for i in range(1000)}
    assert len(safe_repr(huge)) < 4000
    # The secret is redacted before shortening: no tail of it survives the "head...tail".
    shown = safe_repr("password=" + "s" * 500 + "TAIL")
    assert "TAIL" not in shown and "s" * 10 not in shown


# Built at run time: no key-shaped literal in the source.
CREDENTIALS = [
    "sk_" + "live_" + "51HxQ2kLmN0pQrStUvWxYz", "sk_" + "test_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "rk_" + "live_" + "51HxQ2kLmN0pQrSt", "gh" + "p_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",
    "gh" + "o_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6", "github_" + "pat_" + "11AB2CD3E4_" + "x" * 30,
    "AKIA" + "IOSFODNN7EXAMPLE", "xox" + "b-1234567890-abcdefghij",
    "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + ".dozjgNryP4J3jVmNHl0w5N",
    "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----",
]


@pytest.mark.parametrize("value", CREDENTIALS)
def test_credentials_are_redacted_whatever_the_name(value: str) -> None:
    assert redact_text(f"connecting with {value} now") == "connecting with [redacted] now"
    assert value not in safe_repr({"note": value, "items": [value]})
    assert redact_data({"anything": value}) == {"anything": "[redacted]"}


@pytest.mark.parametrize("text", [
    "sk_live_", "task_test_runner", "ghost_writer", "AKIA", "eyJ alone", "github_pat_short",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "xoxo-hugs",
])
def test_ordinary_text_stays(text: str) -> None:
    assert redact_text(text) == text
