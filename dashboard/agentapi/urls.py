from django.urls import path

from . import archives
from .api import api

urlpatterns = [
    path("archives/<uuid:archive_id>", archives.upload, name="agent-archive-upload"),
    path("archives/<uuid:archive_id>/key", archives.write_key, name="agent-archive-write-key"),
    path("jobs/<uuid:job_id>/archives/<uuid:archive_id>/key", archives.read_key, name="agent-archive-key"),
    path("jobs/<uuid:job_id>/archives/<uuid:archive_id>", archives.download, name="agent-archive"),
    path("jobs/<uuid:job_id>/archives/<uuid:archive_id>/digest", archives.digest, name="agent-archive-digest"),
    path("", api.urls),
]
