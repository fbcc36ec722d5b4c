"""Cryo's Django admin site: every model admin registered on it (Cryo's, auth's, django-axes', django-otp's) writes
an audit row for each addition, change and deletion it logs, so settings changed in the admin are in the audit
trail with who changed them. Signing in to the admin goes through Cryo's own sign-in (throttled, second factor)."""
from urllib.parse import urlencode

from django.contrib import admin
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from snapshots.services import Origin, audit


def _record(request, verb, obj, changes=""):
    opts = obj._meta
    details = {"model": opts.label_lower, "object": str(obj)[:200], "object_id": str(obj.pk)}
    if changes:
        details["changes"] = changes
    with transaction.atomic():
        audit.record(actor=request.user, action=f"admin.{verb}", outcome="succeeded", origin=Origin.web(request),
                     details=details)


class AuditedModelAdmin:
    """Mixed into every registered ModelAdmin: the admin's own log, written to the audit trail as well."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        _record(request, "add", obj, message)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        _record(request, "change", obj, message)
        return entry

    def log_deletions(self, request, queryset):  # one object or many: Django logs both through here
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            _record(request, "delete", obj)
        return entries


class CryoAdminSite(admin.AdminSite):
    site_header = "Cryo administration"
    site_title = "Cryo"

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedModelAdmin):
            admin_class = type(admin_class.__name__, (AuditedModelAdmin, admin_class),
                               {"__module__": admin_class.__module__})
        return super().register(model_or_iterable, admin_class, **options)

    def login(self, request, extra_context=None):
        """One sign-in for the site and the admin, with the same throttling and second factor."""
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': target})}")
