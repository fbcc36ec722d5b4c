"""The subcommands of `cryo`: each parses, calls one service or query, and prints."""
from dataclasses import dataclass, field

from django.core.management.base import CommandError

from .. import services
from ..models import Checkpoint, Container, EnrollmentToken, Host, Job
from ..reconcile import reconcile
from ..services import lookup
from ..serializers import checkpoint_dict, container_dict, host_dict, job_dict
from .tables import ago, dump_json, size, table
from .wait import wait_for


@dataclass
class Spec:
    name: str
    help: str
    handler: object
    arguments: list = field(default_factory=list)
    acts: bool = False


def _arg(*args, **kwargs):
    return (args, kwargs)


def _finish(cmd, job, options, *, done=None):
    if options.get("no_wait"):
        cmd.say(str(job.id))
        return
    cmd.say(f"job {job.id}: {job.describe()}")
    job = wait_for(job, cmd.stdout, timeout=options.get("wait_timeout"))
    cmd.say(done(job) if done else f"{job.get_kind_display()} succeeded in {job.duration_seconds:.2f} s")


# -- worker and hosts ------------------------------------------------------------------------
def worker(cmd, host, docker_url, token, concurrency, loglevel, **_):
    from django.conf import settings

    from ..worker.main import run_worker

    run_worker(host, docker_url=docker_url, token=token or settings.CRYO_ENROLLMENT_TOKEN,
               concurrency=concurrency, loglevel=loglevel, stdout=cmd.stdout)


def hosts(cmd, json, **_):
    rows = list(Host.objects.all())
    if json:
        return dump_json(cmd.stdout, [host_dict(h) for h in rows])
    if not rows:
        cmd.say("No hosts yet. Start a worker on a Docker host: python manage.py cryo worker --host NAME")
        return
    table(cmd.stdout, ["host", "status", "docker", "criu", "running", "seen", "reason"], [
        [h.name + (" (drained)" if h.drained else ""), h.effective_status, h.docker_version or "-",
         (h.criu_version or "-") if h.criu_ok else "not ready", h.containers_running, ago(h.last_seen),
         h.effective_reason] for h in rows
    ])


def containers(cmd, host, all, json, **_):
    qs = Container.objects.select_related("host")
    if host:
        qs = qs.filter(host=lookup.get_host(host))
    if not all:
        qs = qs.present()
    rows = list(qs.order_by("host__name", "name"))
    if json:
        return dump_json(cmd.stdout, [container_dict(c) for c in rows])
    table(cmd.stdout, ["host", "id", "name", "image", "state"],
          [[c.host.name, c.short_id, c.name, c.image, c.state] for c in rows])


def checkpoints(cmd, host, container, json, **_):
    c = lookup.get_container(lookup.get_host(host), container)
    rows = list(c.checkpoints.exclude(status=Checkpoint.Status.DELETED))
    if json:
        return dump_json(cmd.stdout, [checkpoint_dict(cp) for cp in rows])
    table(cmd.stdout, ["name", "status", "size", "mode", "created by", "created"], [
        [cp.name, cp.status, size(cp.size_bytes), "exit" if cp.exit else "leave-running", cp.created_by_name,
         ago(cp.created_at)] for cp in rows
    ])


def jobs(cmd, json, host, state, limit, **_):
    reconcile()
    qs = Job.objects.select_related("host", "target_host").order_by("-created_at")
    if host:
        qs = qs.filter(host__name=host)
    if state:
        qs = qs.filter(state=state)
    rows = list(qs[:limit])
    if json:
        return dump_json(cmd.stdout, [job_dict(j) for j in rows])
    table(cmd.stdout, ["id", "kind", "state", "target", "by", "created", "seconds", "error"], [
        [j.short_id, j.kind, j.state, j.describe().split(" ", 1)[-1], j.requested_by_name, ago(j.created_at),
         f"{j.duration_seconds:.2f}" if j.duration_ms is not None else "", (j.error or "")[:80]] for j in rows
    ])


def job(cmd, job_id, json, **_):
    rows = list(Job.objects.filter(id__startswith=job_id.strip()).select_related("host", "target_host")[:2])
    if len(rows) != 1:
        raise CommandError(f"no job with id {job_id!r}" if not rows else f"job id {job_id!r} is ambiguous")
    if json:
        return dump_json(cmd.stdout, job_dict(rows[0]))
    for key, value in job_dict(rows[0]).items():
        cmd.say(f"{key:>13}: {value}")


def do_reconcile(cmd, **_):
    cmd.say(f"{reconcile()} job(s) failed by reconciliation")


def enrollment_token(cmd, **_):
    token = EnrollmentToken.rotate("cli")
    cmd.say(token)


def api_token(cmd, name, actor, **_):
    from ..models import ApiToken

    row, token = ApiToken.issue(actor, name)
    cmd.say(token)
    cmd.stderr.write(f"API token {row.prefix}… for {actor.get_username()} ({name}); it is shown only this once")


def bootstrap(cmd, admin_password_file, token_file, **_):
    """First start on a machine: an admin account and an enrollment token, each kept in a private file."""
    import os
    import secrets

    from django.contrib.auth import get_user_model

    User = get_user_model()
    if not User.objects.filter(is_superuser=True).exists():
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password)
        _write_private(admin_password_file, password)
        cmd.say(f"Created the admin account: sign in as 'admin' with the password in {admin_password_file}")
    token = ""
    if os.path.exists(token_file):
        with open(token_file, encoding="utf-8") as fh:
            token = fh.read().strip()
    if token:
        EnrollmentToken.install(token, "bootstrap")
    else:
        _write_private(token_file, EnrollmentToken.rotate("bootstrap"))
        cmd.say(f"Created an enrollment token for workers in {token_file}")


def _write_private(path, text):
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


# -- actions ---------------------------------------------------------------------------------
def checkpoint(cmd, host, container, name, leave_running, actor, origin, **options):
    job = services.request_checkpoint(actor, host, container, name=name, leave_running=leave_running, origin=origin)
    _finish(cmd, job, options, done=lambda j: (
        f"Checkpoint {j.checkpoint_name} of {j.container_name} created in {j.result.get('checkpoint_seconds')} s "
        f"({size(j.result.get('size_bytes'))})"))


def restore(cmd, host, container, checkpoint, actor, origin, **options):
    job = services.request_restore(actor, host, container, checkpoint, origin=origin)
    _finish(cmd, job, options, done=lambda j: (
        f"Restored {j.container_name} from {j.checkpoint_name} in {j.result.get('restore_seconds')} s"))


def delete_checkpoint(cmd, host, container, checkpoint, actor, origin, **options):
    job = services.request_delete_checkpoint(actor, host, container, checkpoint, origin=origin)
    _finish(cmd, job, options, done=lambda j: f"Deleted checkpoint {j.checkpoint_name} of {j.container_name}")


def sync(cmd, host, actor, origin, **options):
    job = services.request_sync(actor, host, origin=origin)
    _finish(cmd, job, options, done=lambda j: f"Synced {j.host.name}: {j.result}")


def export(cmd, host, container, checkpoint, actor, origin, **options):
    job = services.request_export(actor, host, container, checkpoint, origin=origin)
    _finish(cmd, job, options, done=lambda j: (
        f"Exported {j.checkpoint_name} to the store as {j.result.get('archive')} "
        f"({size(j.result.get('archive_size'))}, sha256 {j.result.get('sha256')})"))


def _phases(job):
    return ", ".join(f"{p['name']} {p['seconds']:.2f} s" for p in job.phases if p.get("seconds") is not None)


def _show_preflight(cmd, host, container, to):
    source = lookup.get_host(host)
    target = lookup.get_host(to) if to else source
    for check in services.migration_preflight(lookup.get_container(source, container), target):
        cmd.say(f"  pre-flight {check.name:<12} {check.level:<7} {check.message}")


def clone(cmd, host, container, checkpoint, to, name, actor, origin, **options):
    _show_preflight(cmd, host, container, to)
    job = services.request_clone(actor, host, container, checkpoint, to=to, name=name, origin=origin)
    _finish(cmd, job, options, done=lambda j: (
        f"Cloned {j.container_name} as {j.result.get('target_container')} on "
        f"{j.result.get('target_host') or j.host.name} ({_phases(j)})"))


def migrate(cmd, host, container, to, keep_source, name, actor, origin, **options):
    _show_preflight(cmd, host, container, to)
    job = services.request_migrate(actor, host, container, to=to, keep_source=keep_source, name=name,
                                   origin=origin)
    _finish(cmd, job, options, done=lambda j: (
        f"Migrated {j.container_name} to {j.target_host.name} as {j.result.get('target_container')}; "
        f"downtime {j.result.get('downtime_seconds')} s ({_phases(j)}); source "
        f"{'removed' if j.result.get('source_removed') else 'kept (stopped)'}"))


def preflight(cmd, host, container, to, **_):
    _show_preflight(cmd, host, container, to)


def _host_action(fn, verb):
    def handler(cmd, host, actor, origin, **_):
        fn(actor, host, origin=origin)
        cmd.say(f"Host {host} {verb}")
    return handler


_json = _arg("--json", action="store_true", help="machine-readable output")
SPECS = [
    Spec("worker", "run the worker of one Docker host (consumes only that host's queue)", worker, [
        _arg("--host", required=True, help="the host's name in Cryo"),
        _arg("--docker-url", default=None, help="Docker engine URL (default: $DOCKER_HOST or the local socket)"),
        _arg("--token", default=None,
             help="enrollment token (default: $CRYO_ENROLLMENT_TOKEN or $CRYO_ENROLLMENT_TOKEN_FILE)"),
        _arg("--concurrency", type=int, default=2, help="jobs run at once on this host"),
        _arg("--loglevel", default="INFO"),
    ]),
    Spec("hosts", "list hosts and their health", hosts, [_json]),
    Spec("containers", "list containers", containers, [
        _arg("--host", default=None), _arg("--all", action="store_true", help="include gone containers"), _json,
    ]),
    Spec("checkpoints", "list a container's checkpoints", checkpoints, [
        _arg("host"), _arg("container", help="name or id"), _json,
    ]),
    Spec("jobs", "list recent jobs", jobs, [
        _json, _arg("--host", default=None), _arg("--state", default=None, choices=[s for s, _ in Job.State.choices]),
        _arg("--limit", type=int, default=50),
    ]),
    Spec("job", "show one job", job, [_arg("job_id"), _json]),
    Spec("reconcile", "fail jobs whose worker vanished or that expired in a queue", do_reconcile),
    Spec("enrollment-token", "create a new enrollment token for workers (the previous one stops working)",
         enrollment_token),
    Spec("api-token", "create a personal API token for the acting user (printed once)", api_token,
         [_arg("--name", default="automation", help="what the token is for")], acts=True),
    Spec("bootstrap", "create an admin account and an enrollment token if there are none (used by `make run`)",
         bootstrap, [_arg("--admin-password-file", required=True), _arg("--token-file", required=True)]),
    Spec("checkpoint", "checkpoint a running container", checkpoint, [
        _arg("host"), _arg("container", help="name or id"), _arg("--name", default=None, help="checkpoint name"),
        _arg("--leave-running", action="store_true", help="keep the container running after the checkpoint"),
    ], acts=True),
    Spec("restore", "restore a stopped container in place from one of its checkpoints", restore, [
        _arg("host"), _arg("container", help="name or id"), _arg("checkpoint"),
    ], acts=True),
    Spec("delete-checkpoint", "delete a checkpoint", delete_checkpoint, [
        _arg("host"), _arg("container", help="name or id"), _arg("checkpoint"),
    ], acts=True),
    Spec("sync", "refresh a host's container inventory now", sync, [_arg("host")], acts=True),
    Spec("export", "archive a checkpoint into Cryo's checkpoint store (tar + zstd, with its sha256)", export, [
        _arg("host"), _arg("container", help="name or id"), _arg("checkpoint"),
    ], acts=True),
    Spec("clone", "restore a checkpoint as a new container, here or on another host", clone, [
        _arg("host"), _arg("container", help="name or id"), _arg("checkpoint"),
        _arg("--to", default=None, metavar="HOST", help="target host (default: the same host)"),
        _arg("--name", default=None, help="name of the new container"),
    ], acts=True),
    Spec("migrate", "move a running container to another host (checkpoint, transfer, restore)", migrate, [
        _arg("host"), _arg("container", help="name or id"), _arg("--to", required=True, metavar="HOST"),
        _arg("--keep-source", action="store_true", help="keep the (stopped) source container"),
        _arg("--name", default=None, help="name on the target (default: the same name)"),
    ], acts=True),
    Spec("preflight", "show the checks a clone or migration to a host would pass through", preflight, [
        _arg("host"), _arg("container"), _arg("--to", default=None, metavar="HOST"),
    ]),
    Spec("drain", "stop sending new jobs to a host (admin)", _host_action(services.drain_host, "drained"),
         [_arg("host")], acts=True),
    Spec("enable", "accept new jobs on a drained host again (admin)", _host_action(services.enable_host, "enabled"),
         [_arg("host")], acts=True),
    Spec("remove", "remove a host whose worker is stopped; its history stays (admin)",
         _host_action(services.remove_host, "removed"), [_arg("host")], acts=True),
]
BY_NAME = {spec.name: spec for spec in SPECS}
