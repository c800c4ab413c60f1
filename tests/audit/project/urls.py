from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz/", views.healthz),
    path("done/", views.done),
    path("const/", views.sleep),
    path("lognorm/", views.sleep),
    path("bimodal/", views.sleep),
    path("pay/", views.pay),
    path("me/", views.me),
    path("catalog/", views.catalog),
    path("enqueue/<str:name>/", views.enqueue),
]
