from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("dashboard.api.urls")),
    path("", include("dashboard.web.account_urls")),
    path("", include("dashboard.web.urls")),
]

handler403 = "dashboard.web.errors.forbidden"
