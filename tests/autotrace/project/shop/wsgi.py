import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

# Imported before auto-tracing is installed: must be reported (W030), not silently untraced.
from django.conf import settings
from django.core.wsgi import get_wsgi_application

import shop.early  # noqa: F401

settings.INSTALLED_APPS  # noqa: B018 - configure settings before installing
# What django_tracekit's AppConfig does when listed first in INSTALLED_APPS (see
# docs/autotrace.md); done here explicitly so this project tests the hook itself.
from django_tracekit.sources import autotrace  # noqa: E402

autotrace.install()
application = get_wsgi_application()
