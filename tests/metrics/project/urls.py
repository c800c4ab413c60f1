from django.urls import path

from tests.celery.project import views as celery_views
from tests.traces.project import views

urlpatterns = [
    path("healthz/", celery_views.healthz),
    path("order/", views.order),
    path("state/<str:task_id>/", celery_views.state),
]
