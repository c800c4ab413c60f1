from django.urls import include, path, re_path

from tests.http.project import views

api = [
    path("orders/<int:pk>/", views.OrderApi.as_view()),
    path("items/", views.ItemViewSet.as_view({"get": "list"})),
    path("items/<str:pk>/", views.ItemViewSet.as_view({"get": "retrieve"})),
]

urlpatterns = [
    path("healthz", views.healthz),
    path("hello/", views.hello),
    path("slow-pid/", views.slow_pid),
    path("orders/<int:pk>/", views.OrderDetail.as_view()),
    path("api/", include(api)),
    re_path(r"^legacy/(?P<year>[0-9]{4})/$", views.legacy),
    path("boom/", views.boom),
    path("stream/", views.stream),
    path("async/", views.async_hello),
    path("async-boom/", views.async_boom),
    path("async-stream/", views.async_stream),
    path("async-whoami/", views.async_whoami),
    path("cookie/", views.cookie),
    path("login/", views.login_view),
    path("whoami/", views.whoami),
]
