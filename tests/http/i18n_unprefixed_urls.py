"""``i18n_patterns(prefix_default_language=False)``: English pages live at ``/shop/...``."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path

from tests.http.i18n_urls import health, shop

urlpatterns = [
    path("health/", health),
    *i18n_patterns(path("shop/", include(shop)), prefix_default_language=False),
]
