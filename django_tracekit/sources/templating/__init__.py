"""Template renders as spans (``spans.py``): an N+1 in a template points at the template."""
