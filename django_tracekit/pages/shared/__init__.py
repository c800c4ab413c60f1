"""What the page families share: the window, the parameters, which features are listed, the
stats rows a window covers, significance, charts, formats and the read-only ModelAdmin."""
