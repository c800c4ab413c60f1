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
    path("reprshop-ping/", views.reprshop_ping),
    path("broken-local/", views.broken_local),
    path("broken-args/", views.broken_args),
    path("broken-log/", views.broken_log),
    path("crumbs/", views.crumbs),
]
