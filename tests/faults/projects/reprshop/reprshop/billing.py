"""Auto-traced application code holding objects whose text form raises (issue 21 item 1)
and vendor keys in its locals (item 5); served by tests/sentry/project's views."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)
# Built at run time: the source holds no key-shaped literal (secret scanners stay quiet).
STRIPE_KEY = "sk_" + "live_" + "51HxQ2kLmN0pQrStUvWxYz0123"
GITHUB_TOKEN = "ghp" + "_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


class PaymentDeclined(Exception):
    pass


class BrokenText:
    """Its text form raises, as a model whose ``__str__`` reads a missing relation does."""

    def __repr__(self) -> str:
        raise LookupError("BrokenText has no related object")

    def __str__(self) -> str:
        raise LookupError("BrokenText has no related object")


def ping() -> str:
    """The process's first auto-traced call ends its start-up (not traced): a warm-up."""
    return "pong"


def charge_holding_broken() -> None:
    widget = BrokenText()  # noqa: F841
    stripe_key = STRIPE_KEY  # noqa: F841
    note = f"pushed with {GITHUB_TOKEN}"  # noqa: F841
    cache_key = "visible-cache-key"  # noqa: F841
    raise PaymentDeclined("declined while holding a broken object")


def charge_with_broken_args() -> None:
    raise PaymentDeclined(BrokenText())


def log_broken() -> None:
    logger.warning("state: %s", BrokenText())
