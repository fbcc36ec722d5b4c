"""The Django admin: users, groups (teams) and which team operates which host. Everything else is read-only here;
changes to grants are audited like every other action."""
from django.contrib import admin
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import AuditEvent, Checkpoint, Container, Host, Job
from .services import Origin, audit


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "drained", "docker_version", "criu_version", "last_seen")
    list_filter = ("status", "drained")
    search_fields = ("name",)
    filter_horizontal = ("operator_groups",)
    fields = ("name", "operator_groups", "drained", "status", "status_reason", "docker_url", "docker_version",
              "api_version", "experimental", "criu_ok", "criu_version", "kernel", "os", "cpu_model", "cpus",
              "docker_root_dir", "last_seen", "worker_id", "worker_hostname")
    readonly_fields = tuple(f for f in fields if f not in ("operator_groups",))

    def has_add_permission(self, request):
        return False  # hosts are added with "Add a host" (or `cryo host add`), which makes their join token

    def has_delete_permission(self, request, obj=None):
        return False  # `cryo remove` keeps the history

    def save_related(self, request, form, formsets, change):
        before = sorted(form.instance.operator_groups.values_list("name", flat=True))
        super().save_related(request, form, formsets, change)
        after = sorted(form.instance.operator_groups.values_list("name", flat=True))
        if before != after:
            with transaction.atomic():
                audit.record(actor=request.user, action="host.grants", outcome="succeeded", origin=Origin.web(request),
                             host=form.instance, details={"before": before, "after": after})


@admin.register(Container)
class ContainerAdmin(ReadOnlyAdmin):
    list_display = ("name", "host", "image", "state", "gone_at", "last_synced")
    list_filter = ("host", "state")
    search_fields = ("name", "engine_id")


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("name", "container", "status", "exit", "size_bytes", "created_by_name", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "container__name")


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "state", "host", "container_name", "requested_by_name", "created_at")
    list_filter = ("state", "kind", "host")
    search_fields = ("id", "container_name", "requested_by_name")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "action", "outcome", "host_name", "container_name", "checkpoint_name")
    list_filter = ("outcome", "action")
    search_fields = ("actor_name", "container_name", "host_name")


# django-otp's own admin shows each person's secret as a QR code: an admin could copy someone's second factor.
# Here an admin sees who has one and can only remove it (a lost phone); the person sets up a new one themselves.
admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
