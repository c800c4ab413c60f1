from django.urls import path

from . import views

urlpatterns = [
    path("healthz", views.healthz),
    path("hello/", views.hello),
    path("relay/", views.relay),
    path("cached/<str:key>/", views.cached),
]
