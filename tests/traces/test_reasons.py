"""Why a kept trace was kept, as the trace pages say it (pages/traces/reasons.py): never a
blank, an unknown value named as unknown."""

from __future__ import annotations

from django_tracekit.pages.traces.reasons import kept_reasons


def test_known_reasons_keep_their_order_and_explain_themselves() -> None:
    found = kept_reasons("error,slow,sample")
    assert [(r.key, r.label, r.known) for r in found] == [
        ("error", "error", True), ("slow", "slow", True), ("sample", "sample", True)]
    assert all(r.title for r in found)


def test_no_reason_reads_as_waiting_for_a_part_not_blank() -> None:
    for stored in ("", ",", " , "):
        (only,) = kept_reasons(stored)
        assert (only.key, only.label) == ("", "no reason yet")
        assert "another process" in only.title


def test_a_reason_of_another_version_reads_as_unknown() -> None:
    sample, pinned = kept_reasons("sample,pinned")
    assert sample.known and sample.label == "sample"
    assert (pinned.key, pinned.label, pinned.known) == ("pinned", "unknown: pinned", False)
