from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass
class FakeUser:
    """A logged-in user with PII that must not reach Sentry (send_default_pii is off)."""

    pk: int = 7
    id: int = 7
    username: str = "alice"
    email: str = "alice@example.com"
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False


class FakeUserMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.user = FakeUser()  # type: ignore[assignment]
        return self.get_response(request)


class MiddlewareFailed(Exception):
    pass


class RaiseOnPathMiddleware:
    """/mw-boom/ fails in a middleware, outside any view span: Django's got_request_exception
    reaches Sentry's DjangoIntegration before tracekit's receiver."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/mw-boom/":
            raise MiddlewareFailed("middleware failed")
        return self.get_response(request)
