"""Views of the test project: one per behaviour the server tests check."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator

from django.contrib.auth import authenticate, login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

STREAM_CHUNKS = 3
STREAM_SLEEP_S = 0.2


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def hello(request: HttpRequest) -> JsonResponse:
    # The pid proves which process served the request (a forked worker, not the master).
    return JsonResponse({"hello": "world", "pid": os.getpid()})


def slow_pid(request: HttpRequest) -> JsonResponse:
    # Slow enough that two concurrent requests need two sync workers.
    time.sleep(0.3)
    return JsonResponse({"pid": os.getpid()})


class OrderDetail(View):
    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        if pk == 0:
            raise Http404("no order 0")
        return JsonResponse({"pk": pk})


class OrderApi(APIView):
    def get(self, request: Request, pk: int) -> Response:
        return Response({"pk": pk, "api": True})


class ItemViewSet(ViewSet):
    def list(self, request: Request) -> Response:
        return Response([1, 2])

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response({"pk": pk})


def legacy(request: HttpRequest, year: str) -> HttpResponse:
    return HttpResponse(year)


class PaymentDeclined(Exception):
    pass


def _charge(amount: int) -> None:
    raise PaymentDeclined(f"card declined for {amount}")  # the raise frame the test finds


def boom(request: HttpRequest) -> HttpResponse:
    _charge(42)
    return HttpResponse("unreachable")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def body() -> Iterator[bytes]:
        for i in range(STREAM_CHUNKS):
            time.sleep(STREAM_SLEEP_S)
            yield f"chunk{i}\n".encode()

    return StreamingHttpResponse(body(), content_type="text/plain")


async def async_stream(request: HttpRequest) -> StreamingHttpResponse:
    async def body() -> AsyncIterator[bytes]:
        for i in range(STREAM_CHUNKS):
            await asyncio.sleep(STREAM_SLEEP_S)
            yield f"chunk{i}\n".encode()

    return StreamingHttpResponse(body(), content_type="text/plain")


async def async_hello(request: HttpRequest) -> JsonResponse:
    await asyncio.sleep(0.001)
    return JsonResponse({"async": True})


async def async_boom(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(0)
    raise PaymentDeclined("async declined")  # the async raise frame the test finds


async def async_whoami(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse({"user": user.pk if user.is_authenticated else None})


def cookie(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("cookie set")
    response.set_cookie("flavour", "cookie-secret-value")
    response["X-Served-By"] = "tests-http"
    response["X-Api-Token"] = "response-secret-value"
    return response


@csrf_exempt
def login_view(request: HttpRequest) -> HttpResponse:
    user = authenticate(request, username=request.POST.get("username"),
                        password=request.POST.get("password"))
    if user is None:
        return HttpResponse("bad credentials", status=401)
    login(request, user)
    return HttpResponse("logged in")


def whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse({"user": user.pk if user.is_authenticated else None})
