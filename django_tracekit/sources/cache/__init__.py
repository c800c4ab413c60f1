"""Django cache calls as CLIENT spans (``cache.get``, ``cache.set_many``...), every alias.

- :mod:`.integration`: the integration (``TRACEKIT['CACHE']['ENABLED']``);
- :mod:`.install`: the seam: every backend instance ``django.core.cache.caches`` creates;
- :mod:`.calls`: one backend instance's methods as spans;
- :mod:`.keys`: keys as attributes (stringified, capped, secrets redacted).
"""
