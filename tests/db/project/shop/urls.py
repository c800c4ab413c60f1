from django.urls import path

from shop import views

urlpatterns = [
    path("n-plus-one/", views.n_plus_one),
    path("service/", views.via_service),
    path("service-n-plus-one/", views.service_n_plus_one),
    path("per-item-n-plus-one/", views.per_item_n_plus_one),
    path("duplicate/", views.duplicate),
    path("raw/", views.raw),
    path("batch/", views.batch),
    path("huge/", views.huge),
    path("async/", views.async_view),
]
