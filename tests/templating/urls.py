"""Views whose templates run queries: an N+1 in a template, includes in a loop, one include."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path


def permissions(request: HttpRequest) -> TemplateResponse:
    # The queryset is lazy: the template runs it, then one content-type query per row.
    return TemplateResponse(request, "shelf/permissions.html",
                            {"permissions": Permission.objects.order_by("id")[:12]})


def looped(request: HttpRequest) -> TemplateResponse:
    return TemplateResponse(request, "shelf/looped.html",
                            {"permissions": Permission.objects.order_by("id")[:12],
                             "groups": Group.objects})


def quick(request: HttpRequest) -> HttpResponse:
    return HttpResponse(render_to_string("shelf/quick.html", {"title": "hello"}))


class Order:
    @property
    def total(self) -> int:
        raise RuntimeError("no price list")


def broken(request: HttpRequest) -> HttpResponse:
    return HttpResponse(render_to_string("shelf/broken.html", {"order": Order()}))


urlpatterns = [path("permissions/", permissions), path("looped/", looped),
               path("quick/", quick), path("broken/", broken)]
