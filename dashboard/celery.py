"""The dashboard side's Celery application: the web tier publishes with it, the control process consumes with it.
Host agents do not load it: they consume their own queue with kombu, as their own broker user."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("cryo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["snapshots", "notifications"])
