from django.contrib import admin
from django.urls import include, path

from .metrics.views import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("dashboard.api.urls")),
    path("metrics", metrics, name="metrics"),
    path("", include("dashboard.web.urls")),
]

handler403 = "dashboard.web.errors.forbidden"
