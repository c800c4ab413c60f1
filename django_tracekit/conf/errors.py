"""``TRACEKIT['ERRORS']``: the error convention's caps on a recorded stack (docs/errors.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tracekit.conf.base import Reader

CHECK_IDS = {"MAX_FRAMES": "E039", "MAX_LENGTH": "E040", "CAPTURE_LOCALS": "E041"}


@dataclass(frozen=True)
class ErrorsSettings:
    max_frames: int = 128
    max_length: int = 32_768
    capture_locals: bool = False


def read(r: Reader) -> ErrorsSettings:
    values = r.section("ERRORS")
    return ErrorsSettings(
        max_frames=int(r.number(values, "MAX_FRAMES", CHECK_IDS["MAX_FRAMES"], integer=True)),
        max_length=int(r.number(values, "MAX_LENGTH", CHECK_IDS["MAX_LENGTH"], integer=True)),
        capture_locals=r.flag(values, "CAPTURE_LOCALS", CHECK_IDS["CAPTURE_LOCALS"],
                              "Use True to add (redacted, truncated) local values."),
    )
