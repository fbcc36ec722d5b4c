from django.contrib.admin.apps import AdminConfig


class CryoAdminConfig(AdminConfig):
    """django.contrib.admin with Cryo's site: every change made in the admin is audited."""

    default_site = "dashboard.admin_site.CryoAdminSite"
