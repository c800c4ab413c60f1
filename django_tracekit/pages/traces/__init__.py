"""The trace explorer: the list of kept traces and one trace as a waterfall."""
