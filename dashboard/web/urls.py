from django.urls import path

from . import accounts, actions, audit, containers, host_admin, hosts, jobs, live, moves, overview, search

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("login/", accounts.login, name="login"),
    path("logout/", accounts.logout, name="logout"),
    path("password/", accounts.password_change, name="password_change"),
    path("password/done/", accounts.password_change_done, name="password_change_done"),
    path("hosts/<str:name>/", hosts.host, name="host"),
    path("hosts/<str:name>/sync/", hosts.sync, name="host-sync"),
    path("hosts/<str:name>/drain/", host_admin.host_action, {"action": "drain"}, name="host-drain"),
    path("hosts/<str:name>/enable/", host_admin.host_action, {"action": "enable"}, name="host-enable"),
    path("hosts/<str:name>/remove/", host_admin.host_action, {"action": "remove"}, name="host-remove"),
    path("containers/<int:pk>/", containers.container, name="container"),
    path("containers/<int:pk>/clone/", moves.clone, name="container-clone"),
    path("containers/<int:pk>/migrate/", moves.migrate, name="container-migrate"),
    path("containers/<int:pk>/checkpoint/", actions.checkpoint, name="container-checkpoint"),
    path("containers/<int:pk>/restore/", actions.restore, name="container-restore"),
    path("containers/<int:pk>/checkpoints/<str:name>/delete/", actions.delete_checkpoint, name="checkpoint-delete"),
    path("jobs/", jobs.jobs, name="jobs"),
    path("jobs/<uuid:job_id>/", jobs.job, name="job"),
    path("jobs/<uuid:job_id>/row/", jobs.job_row, name="job-row"),
    path("events/", live.job_events, name="events"),
    path("audit/", audit.audit, name="audit"),
    path("audit/export.csv", audit.audit_export, {"fmt": "csv"}, name="audit-export-csv"),
    path("audit/export.json", audit.audit_export, {"fmt": "json"}, name="audit-export-json"),
    path("search/", search.search, name="search"),
]
