from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views import View

from shop.videos.services import ProcessVideo


class VideoList(View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"videos": list(range(1, 11))})


def video_detail(request: HttpRequest, pk: int) -> JsonResponse:
    if pk > 10:
        raise Http404("no such video")  # a 404: an outcome, not an error
    return JsonResponse({"video": pk})


def process(request: HttpRequest, pk: int) -> JsonResponse:
    if pk == 13:
        raise RuntimeError("unlucky video")  # an unhandled error: a 500 with its stack
    return JsonResponse(ProcessVideo(pk).run())
