from django.contrib import admin
from django.urls import include, path

from dashboard.api.api import api as people_api

from .metrics.views import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", people_api.urls),
    path("agent/v1/", include("dashboard.agentapi.urls")),
    path("metrics", metrics, name="metrics"),
    path("", include("dashboard.web.account_urls")),
    path("", include("dashboard.web.urls")),
]

handler403 = "dashboard.web.errors.forbidden"
