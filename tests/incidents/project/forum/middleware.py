from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


def request_tag_middleware(
        get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """A function middleware: called once when Django loads its middleware; its nested
    ``middleware`` runs on every request."""
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response["X-Tagged"] = "1"
        return response

    return middleware
