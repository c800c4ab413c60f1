from django.http import HttpRequest
from django.utils.deprecation import MiddlewareMixin


class MiddlewareFailure(RuntimeError):
    pass


class RaiseOnPathMiddleware(MiddlewareMixin):
    """Fails on one path, before URL resolution: an exception in a middleware, not a view."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path == "/middleware-boom/":
            raise MiddlewareFailure("middleware failed")
