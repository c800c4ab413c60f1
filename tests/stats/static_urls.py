"""The stats app's routes plus Django's own static and media serving (``static.serve``)."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from tests.stats.urls import urlpatterns as stats_urlpatterns

urlpatterns = [
    *stats_urlpatterns,
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
