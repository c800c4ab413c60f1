from django.urls import path

from shop import views

urlpatterns = [
    path("healthz", views.healthz),
    path("counts", views.counts),
    path("status", views.status),
    path("s/<str:name>", views.scenario),
]
