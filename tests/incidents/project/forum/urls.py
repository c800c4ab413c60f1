from django.urls import path

from tests.celery.project import views as celery_views

from . import views

urlpatterns = [
    path("healthz/", celery_views.healthz),
    path("state/<str:task_id>/", celery_views.state),
    path("signup/", views.signup),
    path("signup-strict/", views.signup_strict),
    path("sync/", views.sync),
    path("banned/", views.banned),
]
