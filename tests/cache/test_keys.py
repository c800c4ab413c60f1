"""Keys as span attributes: text from any object, secrets hidden, capped."""

from __future__ import annotations

from django_tracekit.core import cache_keys as keys


def test_what_follows_a_secret_named_part_is_hidden() -> None:
    assert keys.render("user:42:reset_token:abc123") == "user:42:reset_token:[redacted]"
    assert keys.render("password_reset/abc123") == "password_reset/[redacted]"
    assert keys.render("api_key=k-123") == "api_key=[redacted]"
    # Django's cached sessions: the session key follows the module path.
    assert keys.render("django.contrib.sessions.cachexyz123") == (
        "django.contrib.sessions.[redacted]")


def test_a_key_that_is_one_secret_word_is_hidden_whole() -> None:
    assert keys.render("sessionabc123") == "[redacted]"
    assert keys.render("user:7:password") == "user:7:[redacted]"


def test_ordinary_keys_stay_readable() -> None:
    for key in ("views.decorators.cache.cache_page.home", "user:42:profile", "spinner:1",
                "author:9", "keyboard-layout"):
        assert keys.render(key) == key


def test_non_string_keys_become_bounded_text() -> None:
    class Exploding:
        def __str__(self) -> str:
            raise RuntimeError("no text")

        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert keys.render(42) == "42"
    assert keys.render(("user", 1)) == "('user', 1)"
    assert keys.render(b"raw\xff") == "raw\\xff"
    assert keys.render(True) == "True"
    assert keys.render(Exploding()).startswith("<Exploding")  # never raises
    assert "s3cret" not in keys.render({"token": "s3cret"})


def test_long_keys_and_many_keys_are_capped() -> None:
    long_key = "k" * 10_000
    rendered = keys.render(long_key)
    assert len(rendered) == keys.MAX_KEY_LENGTH
    assert rendered.endswith("…")
    shown, count = keys.render_many(f"k{i}" for i in range(1_000))
    assert count == 1_000
    assert shown == tuple(f"k{i}" for i in range(keys.MAX_KEYS))
