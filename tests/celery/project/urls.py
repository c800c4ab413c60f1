from django.urls import path

from . import views

urlpatterns = [
    path("healthz/", views.healthz),
    path("enqueue/", views.enqueue),
    path("run/<str:task>/", views.run),
    path("canvas/", views.canvas),
    path("send-by-name/", views.send_by_name),
    path("revoke/<str:task_id>/", views.revoke),
    path("state/<str:task_id>/", views.state),
    path("batch/<int:count>/", views.batch),
]
