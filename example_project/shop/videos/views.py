from __future__ import annotations

from celery import chain
from django.contrib.auth import authenticate, login
from django.http import Http404, HttpRequest, JsonResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shop.videos import tasks
from shop.videos.models import Video
from shop.videos.services import ProcessVideo, share_link


class VideoList(View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"videos": list(range(1, 11))})


def catalog(request: HttpRequest) -> JsonResponse:
    """An N+1 on purpose: one query per video for its channel. The trace shows every query
    and flags the repeated one (``tracekit.n_plus_one``); ``select_related("channel")`` is
    the fix."""
    return JsonResponse({"videos": [
        {"title": video.title, "channel": video.channel.name}
        for video in Video.objects.order_by("pk")]})


def video_detail(request: HttpRequest, pk: int) -> JsonResponse:
    if pk > 10:
        raise Http404("no such video")  # a 404: an outcome, not an error
    return JsonResponse({"video": pk})


@csrf_exempt
@require_POST
def upload(request: HttpRequest, pk: int) -> JsonResponse:
    # The pipeline runs in the worker, in this request's trace.
    chain(tasks.probe.s(pk), tasks.transcode.s(), tasks.thumbnail.s(), tasks.notify.s()).delay()
    if pk == 7:  # its CDN origin is down: every attempt fails (a task that gives up)
        tasks.publish_to_cdn.delay(pk)
    return JsonResponse({"video": pk, "status": "queued"}, status=202)


def process(request: HttpRequest, pk: int) -> JsonResponse:
    if pk % 13 == 0:
        # An unhandled error: a 500 with its stack. One place, varying messages: one group.
        raise RuntimeError(f"unlucky video {pk}")
    return JsonResponse(ProcessVideo(pk).run())


def share(request: HttpRequest, pk: int) -> JsonResponse:
    """The feature being rolled out during the demo: its usage curve rises."""
    return JsonResponse({"video": pk, "link": share_link(pk)})


@csrf_exempt
@require_POST
def sign_in(request: HttpRequest) -> JsonResponse:
    """The demo's users sign in here; their requests then carry ``enduser.id`` (Users)."""
    user = authenticate(request, username=request.POST.get("username", ""),
                        password=request.POST.get("password", ""))
    if user is None:
        return JsonResponse({"error": "wrong username or password"}, status=403)
    login(request, user)
    return JsonResponse({"user": user.pk})
