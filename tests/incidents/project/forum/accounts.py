"""Validators as a form runs them: each raises ``ValidationError``; the form collects them."""

from django.core.exceptions import ValidationError

RESERVED = frozenset({"admin", "root", "staff"})


def validate_username(name: str) -> None:
    if name in RESERVED or not name.isalnum():
        raise ValidationError(f"{name!r} is not an allowed user name", code="invalid")


def clean_usernames(names: list[str]) -> list[str]:
    """The messages of every name that failed (a form's validator loop): handled."""
    messages: list[str] = []
    for name in names:
        try:
            validate_username(name)
        except ValidationError as exc:
            messages.extend(exc.messages)
    return messages
