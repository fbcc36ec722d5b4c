from django.urls import path

from . import views

urlpatterns = [
    path("hosts", views.hosts, name="api-hosts"),
    path("hosts/<str:host>/containers", views.containers, name="api-containers"),
    path("hosts/<str:host>/containers/<str:container>/checkpoints", views.checkpoints, name="api-checkpoints"),
    path("jobs", views.jobs, name="api-jobs"),
    path("jobs/<uuid:job_id>", views.job, name="api-job"),
]
