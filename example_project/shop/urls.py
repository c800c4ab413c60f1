from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path

from shop.videos import views


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz),
    path("videos/", views.VideoList.as_view(), name="video-list"),
    path("videos/catalog/", views.catalog, name="video-catalog"),
    path("videos/<int:pk>/", views.video_detail, name="video-detail"),
    path("videos/<int:pk>/process/", views.process, name="video-process"),
    path("videos/<int:pk>/upload/", views.upload, name="video-upload"),
    path("videos/<int:pk>/share/", views.share, name="video-share"),
    path("login/", views.sign_in, name="sign-in"),
]
