from django.apps import AppConfig


class SnapshotsConfig(AppConfig):
    name = "snapshots"
    verbose_name = "Cryo snapshots"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import account_audit

        account_audit.connect()
