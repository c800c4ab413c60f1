from django.urls import path

from tests.sentry.project import views

urlpatterns = [
    path("healthz", views.healthz),
    path("hello/", views.hello),
    path("boom/", views.boom),
    path("secret/", views.secret),
    path("leaky/", views.leaky),
    path("handled/", views.handled),
    path("mw-boom/", views.hello),
]
