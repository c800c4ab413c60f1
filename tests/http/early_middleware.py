"""A middleware that answers before URL resolution, as login walls and maintenance pages do."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect


class LoginWall:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_X_USER" not in request.META:
            return HttpResponseRedirect("/login/?next=" + request.path)
        return self.get_response(request)
