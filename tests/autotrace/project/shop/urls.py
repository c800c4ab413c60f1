from django.urls import path

from shop import views

urlpatterns = [
    path("healthz", views.healthz),
    path("counts", views.counts),
    path("status", views.status),
    path("s/<str:name>", views.scenario),
    path("x/<str:name>", views.scenario),  # EXCLUDED_URLS
    path("decorated/function", views.audited_view),
    path("decorated/guarded", views.guarded_view),
    path("decorated/handler", views.AuditedHandler.as_view()),
    path("decorated/dispatch", views.GuardedDispatch.as_view()),
]
