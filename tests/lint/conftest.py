# The corpus files are lint *input* (one uses Python 3.11+ syntax), never tests: not collected.
collect_ignore_glob = ["corpus/*"]
