"""The rule catalogue: one place for each rule's id, message, rationale and fix.

Both front-ends read it: the ``ast`` engine (``engine.py``) reports ``Rule.message`` and the
Semgrep rules (``semgrep/tracekit.yml``) are generated from it (``semgrep_rules.py``), so the
two forms cannot drift apart in wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The Semgrep form of this catalogue, shipped as package data (see semgrep_rules.py).
SEMGREP_RULES_PATH = Path(__file__).with_name("semgrep") / "tracekit.yml"


@dataclass(frozen=True)
class Rule:
    id: str
    message: str
    rationale: str
    fix: str
    #: Semgrep severity: "WARNING" for a convention broken (the trace is wrong), "INFO" for
    #: advice (the trace is right; the code could say it more directly).
    severity: str = "WARNING"


UNRECORDED_EXCEPTION = Rule(
    id="tracekit-unrecorded-exception",
    message=(
        "exception caught inside a span is neither re-raised nor recorded; "
        "call tracekit.record_error(e) (or span.record_exception(e) + span.set_status(...))"
    ),
    rationale=(
        "A span only shows an error if the error reaches it. An exception swallowed inside "
        "`with tracekit.span()`, a `@tracekit.traced` function or `start_as_current_span` "
        "leaves a green span behind: the trace looks healthy and the stack trace is lost."
    ),
    fix=(
        "Call `tracekit.record_error(e)` in the handler (full stack, ERROR status, Sentry), "
        "or re-raise. With the plain OpenTelemetry API: `span.record_exception(e)` and "
        "`span.set_status(Status(StatusCode.ERROR))`."
    ),
)

UNENDED_SPAN = Rule(
    id="tracekit-unended-span",
    message=(
        "span from start_span() is not guaranteed to end; use a with block, "
        "try/finally span.end(), or trace.use_span(span, end_on_exit=True)"
    ),
    rationale=(
        "`tracer.start_span()` does not end the span by itself. A span that is never ended is "
        "never exported, and one that is ended only on the happy path disappears exactly when "
        "something went wrong."
    ),
    fix=(
        "Prefer `with tracekit.span():`. Otherwise end the span in a `finally:` block, or hand "
        "it to `with trace.use_span(span, end_on_exit=True):`, or return it to the caller."
    ),
)

LITERAL_SPAN_NAME = Rule(
    id="tracekit-literal-span-name",
    message=(
        "hand-written span name; use tracekit.span() (or @tracekit.traced) "
        "so the name follows the code location"
    ),
    rationale=(
        "tracekit names spans after their code location (`project/module/Class/method`). "
        "Hand-written names need review, drift from the code when it is renamed or moved, "
        "and split the feature statistics in the admin."
    ),
    fix=(
        'Replace `tracekit.span("...")` / `tracer.start_as_current_span("...")` with '
        "`tracekit.span()`, or decorate the function with `@tracekit.traced`. Put variable "
        "details into span attributes, not into the name."
    ),
)

LOG_INSTEAD_OF_RECORD = Rule(
    id="tracekit-log-instead-of-record",
    message=(
        "advice: error logged with its traceback inside a span; tracekit records it on the "
        "span already (LOGS), tracekit.record_error(e) says so without a log line"
    ),
    rationale=(
        "With `TRACEKIT['LOGS']` on (the default), `logger.exception(...)` / "
        "`logger.error(..., exc_info=...)` inside a span is recorded like "
        "`tracekit.record_error(e)`: once, full stack, ERROR status, Sentry, plus a `log` "
        "event with the message. The trace is right; the rule is advice. It matters where "
        "log records do not reach the span: `LOGS.LEVEL` above the call's level or None, "
        "or a logger whose level drops the record."
    ),
    fix=(
        "Optional: call `tracekit.record_error(e)` in the `except` block and drop the log "
        "call if it only carried the traceback; or keep the log call (the message becomes a "
        "span event) and silence the advice with "
        "`# tracekit: ignore[tracekit-log-instead-of-record]`."
    ),
    severity="INFO",
)

RULES: tuple[Rule, ...] = (
    UNRECORDED_EXCEPTION,
    UNENDED_SPAN,
    LITERAL_SPAN_NAME,
    LOG_INSTEAD_OF_RECORD,
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
