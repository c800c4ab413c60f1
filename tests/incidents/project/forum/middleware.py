from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

Handler = Callable[[HttpRequest], HttpResponse]


def request_tag_middleware(get_response: Handler) -> Handler:
    """A function middleware: called once when Django loads its middleware; its nested
    ``middleware`` runs on every request."""
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response["X-Tagged"] = "1"
        return response

    return middleware


class UserBanned(Exception):
    """Raised by views for a banned user; the middleware below answers it (Misago's
    exception-handler middleware does the same)."""


class BanPageMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest,
                          exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UserBanned):
            return HttpResponse("You are banned.", status=403)
        return None
