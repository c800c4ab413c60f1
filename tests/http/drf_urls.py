"""Regex routes as real projects have them: a DRF DefaultRouter (with a detail action and
format suffixes) and hand-written ``re_path`` patterns."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from rest_framework import routers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response


class RoutineViewSet(viewsets.ViewSet):
    def list(self, request: Request, format: str | None = None) -> Response:
        return Response([])

    def retrieve(self, request: Request, pk: str, format: str | None = None) -> Response:
        return Response({"pk": pk})

    @action(detail=True)
    def stats(self, request: Request, pk: str, format: str | None = None) -> Response:
        return Response({"pk": pk, "runs": 3})


def legacy(request: HttpRequest, *args: str, **kwargs: str) -> HttpResponse:
    return HttpResponse("ok")


router = routers.DefaultRouter()
router.register("routine", RoutineViewSet, basename="routine")

urlpatterns = [
    path("api/v2/", include(router.urls)),
    re_path(r"^legacy/(?P<year>[0-9]{4})/(\d+)/$", legacy),
    re_path(r"^feed\.xml$", legacy),
    re_path(r"^files/.*$", legacy),  # a wildcard: not one route, the regex stays
]
