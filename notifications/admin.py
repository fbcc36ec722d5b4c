"""Admins manage every team's notifications here too; changes made in the admin are logged by Django's admin log."""
from django.contrib import admin

from .models import Delivery, EmailNotice, TeamEmail, Webhook


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("created_at", "event", "job", "state", "attempts", "status_code", "error", "delivered_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    ordering = ("-created_at",)
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("job")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("team", "url", "every_job", "active", "created_at")
    list_filter = ("active", "every_job", "team")
    inlines = [DeliveryInline]


@admin.register(TeamEmail)
class TeamEmailAdmin(admin.ModelAdmin):
    list_display = ("team", "active", "every_job", "recipients")


@admin.register(EmailNotice)
class EmailNoticeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "team", "job", "state", "attempts", "recipients", "error")
    list_filter = ("state", "team")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
