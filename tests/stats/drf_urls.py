"""DRF views answering 4xx the ways the Styleguide example does (NotFound, Throttled, a
serializer's ValidationError, PermissionDenied, a Django ValidationError raised in a service
that the project's exception handler turns into a 400), and one real failure (500)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import APIView, exception_handler

import django_tracekit as tracekit


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The Styleguide's handler: a Django ValidationError is the client's mistake (400)."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    return exception_handler(exc, context)


class EmailSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()


@tracekit.traced
def user_create(email: str) -> None:
    raise DjangoValidationError({"email": ["User with this Email already exists."]})


class MissingApi(APIView):
    def get(self, request: Request) -> Response:
        raise exceptions.NotFound()


class ThrottledApi(APIView):
    def get(self, request: Request) -> Response:
        raise exceptions.Throttled(wait=5)


class InvalidApi(APIView):
    def post(self, request: Request) -> Response:
        EmailSerializer(data=request.data).is_valid(raise_exception=True)
        return Response()


class ForbiddenApi(APIView):
    def get(self, request: Request) -> Response:
        raise exceptions.PermissionDenied()


class DuplicateApi(APIView):
    def post(self, request: Request) -> Response:
        user_create(email="unique@example.com")
        return Response(status=201)


class BrokenApi(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError("Oops")


urlpatterns = [
    path("api/missing/", MissingApi.as_view()),
    path("api/throttled/", ThrottledApi.as_view()),
    path("api/invalid/", InvalidApi.as_view()),
    path("api/forbidden/", ForbiddenApi.as_view()),
    path("api/duplicate/", DuplicateApi.as_view()),
    path("api/broken/", BrokenApi.as_view()),
]
