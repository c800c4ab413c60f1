"""DRF views whose checks deny before the handler runs (permission, authentication,
throttle), and one whose handler denies itself (an object permission)."""

from __future__ import annotations

from django.urls import path
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet


class Projects(APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        return Response([])


class Issues(ViewSet):
    permission_classes = (IsAuthenticated,)

    def list(self, request: Request) -> Response:
        return Response([])


class Owned(APIView):
    permission_classes = ()

    def get(self, request: Request) -> Response:
        raise PermissionDenied("not yours")  # the handler ran, and denied


urlpatterns = [
    path("projects/", Projects.as_view()),
    path("issues/", Issues.as_view({"get": "list"})),
    path("owned/", Owned.as_view()),
]
