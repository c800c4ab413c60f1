"""In-process unit tests of views.view_location: the names view spans get."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views import View
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from django_tracekit.sources.http.view_spans import view_location

MODULE = "tests/http/test_view_naming"  # PROJECT_NAME "tests" (tests.settings BASE_DIR)


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


@login_required
def decorated(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


class Base(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse()


class Child(Base):
    def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse()


class Orders(APIView):
    def get(self, request: HttpRequest) -> Response:
        return Response()


class Items(ViewSet):
    def list(self, request: HttpRequest) -> Response:
        return Response()

    def retrieve(self, request: HttpRequest, pk: str) -> Response:
        return Response()


def test_function_view() -> None:
    location = view_location(plain, "get")
    assert location.name == f"{MODULE}/plain"
    assert location.function == "tests.http.test_view_naming.plain"
    assert location.file_path == __file__
    assert location.line_number == plain.__code__.co_firstlineno


def test_decorated_function_view_is_named_after_the_function() -> None:
    assert view_location(decorated, "get").name == f"{MODULE}/decorated"


def test_class_based_view_with_inherited_handler() -> None:
    view = Child.as_view()
    location = view_location(view, "get")
    # Named after the routed class (the feature); the code attributes point at Base.get.
    assert location.name == f"{MODULE}/Child/get"
    assert location.function == "tests.http.test_view_naming.Child.get"
    assert location.line_number == Base.get.__code__.co_firstlineno
    assert view_location(view, "post").name == f"{MODULE}/Child/post"


def test_head_is_served_by_get() -> None:
    # View.setup() makes HEAD call get() when the view has no head().
    assert view_location(Child.as_view(), "head").name == f"{MODULE}/Child/get"


def test_method_not_allowed_falls_back_to_the_405_handler() -> None:
    view = Child.as_view()
    assert view_location(view, "delete").name == f"{MODULE}/Child/http_method_not_allowed"
    # Attribute names that are not HTTP methods must not be taken for handlers.
    assert view_location(view, "setup").name == f"{MODULE}/Child/http_method_not_allowed"
    assert view_location(view, "__init__").name == f"{MODULE}/Child/http_method_not_allowed"
    location = view_location(view, "delete")
    assert location.file_path.endswith("django/views/generic/base.py")


def test_drf_api_view() -> None:
    view = Orders.as_view()  # csrf_exempt-wrapped by DRF; the class is still found
    assert view_location(view, "get").name == f"{MODULE}/Orders/get"
    assert view_location(view, "post").name == f"{MODULE}/Orders/http_method_not_allowed"


def test_drf_viewset_actions_per_route() -> None:
    # The same class behind two routes with different actions: no shared cache entry.
    listing = Items.as_view({"get": "list"})
    detail = Items.as_view({"get": "retrieve"})
    assert view_location(listing, "get").name == f"{MODULE}/Items/list"
    assert view_location(detail, "get").name == f"{MODULE}/Items/retrieve"
    assert view_location(listing, "get").name == f"{MODULE}/Items/list"  # cached, unchanged
    assert view_location(listing, "head").name == f"{MODULE}/Items/list"
    assert view_location(listing, "post").name == f"{MODULE}/Items/http_method_not_allowed"
