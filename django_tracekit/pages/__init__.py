"""The read side of feature-usage stats: what the admin pages show.

``stats/`` writes (processor, store, histogram, sampler); this package only reads the rows
they wrote: ``window`` (which buckets a requested time range covers), ``params`` (the pages'
query parameters, validated), ``queries`` (aggregates in SQL) and ``charts`` (server-side SVG).
Nothing here is imported by the write side, so the span path never loads it.
"""

# tracekit's own data code: its queries never become spans (core.vocabulary.OWN_DATA_MARKER).
__tracekit_own_data__ = True
