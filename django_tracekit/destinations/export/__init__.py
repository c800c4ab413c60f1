"""Export: spans leave the process over OTLP (or to the console, or a factory's exporter)."""
