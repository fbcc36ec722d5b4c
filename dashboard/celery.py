"""The Celery application shared by the web tier (which only sends) and the host workers."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("cryo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["snapshots", "notifications"])
