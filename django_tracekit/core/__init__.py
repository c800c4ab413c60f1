"""What every source and destination stands on: naming, the tracer, error recording, redaction,
the exit deadline and once-per-process guards. Core modules import no source, destination or
page."""
