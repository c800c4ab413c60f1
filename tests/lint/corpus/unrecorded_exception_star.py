# Corpus for tracekit-unrecorded-exception with `except*` (Python 3.11+ syntax; the ast tests
# skip this file on 3.10, Semgrep parses it everywhere).
import django_tracekit as tracekit


def star_swallows():
    with tracekit.span():
        try:
            work()
        except* ValueError:
            # ruleid: tracekit-unrecorded-exception
            fallback()
        except* KeyError as group:
            # ok: tracekit-unrecorded-exception
            tracekit.record_error(group)
        except* OSError:
            # ok: tracekit-unrecorded-exception
            raise
