"""URLconfs with ``i18n_patterns`` (prefixed default language, and not), for route naming."""

from django.conf.urls.i18n import i18n_patterns
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def order(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(f"order {pk}")


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


shop = [path("orders/<int:pk>/", order), path("en/literal/", health)]

urlpatterns = [
    path("health/", health),
    *i18n_patterns(path("shop/", include(shop))),
]

