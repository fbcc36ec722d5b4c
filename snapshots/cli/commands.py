"""The subcommands of `cryo`: each turns its arguments into one API call (or a few), and prints the answer."""
from dataclasses import dataclass, field

from .tables import ago, dump_json, size, table
from .transport import CliError

from . import schedules
from .inspect import inspect, pinning
from .wait import wait_for


@dataclass
class Spec:
    name: str
    help: str
    handler: object
    arguments: list = field(default_factory=list)
    acts: bool = False  # requests a job: --no-wait, --wait-timeout


def _arg(*args, **kwargs):
    return (args, kwargs)


def _job(api, out, options, body, done):
    """Request a job; unless --no-wait, follow it to its end and say how it went (exit 1 if it failed)."""
    job = api.call("POST", "/jobs", body=body)
    if options.get("no_wait"):
        out.write(f"{job['id']}\n")
        return
    out.write(f"job {job['id']}: {_describe(job)}\n")
    job = wait_for(api, job, out, timeout=options.get("wait_timeout"))
    out.write(done(job) + "\n")


def _target(job):
    text = f"{job['host']}/{job['container'] or 'inventory'}"
    if job.get("checkpoint"):
        text += f" checkpoint {job['checkpoint']}"
    if job.get("target_host") and job["target_host"] != job["host"]:
        text += f" to {job['target_host']}"
    return text


def _describe(job):
    return f"{job['kind'].replace('_', ' ')} {_target(job)}"


def _phases(job):
    return ", ".join(f"{p['name']} {p['seconds']:.2f} s" for p in job["phases"] if p.get("seconds") is not None)


# -- reading -----------------------------------------------------------------------------------------
def hosts(api, out, json, **_):
    rows = api.call("GET", "/hosts")
    if json:
        return dump_json(out, rows)
    if not rows:
        out.write("No hosts yet. An admin adds one: cryo host add NAME (it prints the agent's join command)\n")
        return
    table(out, ["host", "status", "engine", "criu", "running", "seen", "reason"], [
        [h["name"] + (" (drained)" if h["drained"] else ""), h["status"],
         f'{h.get("engine_kind") or "docker"} {h["docker_version"] or "-"}',
         (h["criu_version"] or "-") if h["criu_ok"] else "not ready", h["containers_running"], ago(h["last_seen"]),
         h["reason"]] for h in rows
    ])


def containers(api, out, host, all, json, **_):
    rows = api.call("GET", "/containers", {"host": host, "all": "true" if all else None})
    if json:
        return dump_json(out, rows)
    table(out, ["host", "id", "name", "image", "state"],
          [[c["host"], c["id"][:12], c["name"], c["image"], c["state"]] for c in rows])


def checkpoints(api, out, host, container, json, **_):
    rows = api.call("GET", f"/hosts/{host}/containers/{container}/checkpoints")
    if json:
        return dump_json(out, rows)
    table(out, ["name", "status", "size", "mode", "created by", "created"], [
        [cp["name"], cp["status"], size(cp["size_bytes"]), "exit" if cp["exit"] else "leave-running",
         cp["created_by"], ago(cp["created_at"])] for cp in rows
    ])


def jobs(api, out, json, host, state, limit, **_):
    rows = api.call("GET", "/jobs", {"host": host, "state": state, "limit": limit})
    if json:
        return dump_json(out, rows)
    table(out, ["id", "kind", "state", "target", "by", "created", "seconds", "error"], [
        [j["id"][:8], j["kind"], j["state"], _target(j), j["requested_by"], ago(j["created_at"]),
         f"{j['duration_ms'] / 1000:.2f}" if j["duration_ms"] is not None else "", (j["error"] or "")[:80]]
        for j in rows
    ])


def job(api, out, job_id, json, **_):
    found = api.call("GET", f"/jobs/{job_id}")
    if json:
        return dump_json(out, found)
    for key, value in found.items():
        out.write(f"{key:>13}: {value}\n")


def preflight(api, out, host, container, to, **_):
    for check in api.call("GET", f"/hosts/{host}/containers/{container}/preflight", {"to": to}):
        out.write(f"  pre-flight {check['name']:<12} {check['level']:<7} {check['message']}\n")


# -- jobs ----------------------------------------------------------------------------------------------
def checkpoint(api, out, host, container, name, leave_running, **options):
    _job(api, out, options, {"kind": "checkpoint", "host": host, "container": container, "name": name,
                             "leave_running": leave_running},
         lambda j: f"Checkpoint {j['checkpoint']} of {j['container']} created in "
                   f"{j['result'].get('checkpoint_seconds')} s ({size(j['result'].get('size_bytes'))})")


def restore(api, out, host, container, checkpoint, **options):
    _job(api, out, options, {"kind": "restore", "host": host, "container": container, "checkpoint": checkpoint},
         lambda j: f"Restored {j['container']} from {j['checkpoint']} in {j['result'].get('restore_seconds')} s")


def delete_checkpoint(api, out, host, container, checkpoint, **options):
    _job(api, out, options, {"kind": "delete_checkpoint", "host": host, "container": container,
                             "checkpoint": checkpoint},
         lambda j: f"Deleted checkpoint {j['checkpoint']} of {j['container']}")


def sync(api, out, host, **options):
    _job(api, out, options, {"kind": "sync", "host": host}, lambda j: f"Synced {j['host']}: {j['result']}")


def export(api, out, host, container, checkpoint, **options):
    _job(api, out, options, {"kind": "export", "host": host, "container": container, "checkpoint": checkpoint},
         lambda j: f"Exported {j['checkpoint']} to the store as {j['result'].get('archive')} "
                   f"({size(j['result'].get('archive_size'))}, sha256 {j['result'].get('sha256')})")


def clone(api, out, host, container, checkpoint, to, name, **options):
    preflight(api, out, host, container, to)
    _job(api, out, options, {"kind": "clone", "host": host, "container": container, "checkpoint": checkpoint,
                             "to": to, "name": name},
         lambda j: f"Cloned {j['container']} as {j['result'].get('target_container')} on "
                   f"{j['result'].get('target_host') or j['host']} ({_phases(j)})")


def migrate(api, out, host, container, to, keep_source, name, **options):
    preflight(api, out, host, container, to)
    _job(api, out, options, {"kind": "migrate", "host": host, "container": container, "to": to,
                             "keep_source": keep_source, "name": name},
         lambda j: f"Migrated {j['container']} to {j['target_host']} as {j['result'].get('target_container')}; "
                   f"downtime {j['result'].get('downtime_seconds')} s ({_phases(j)}); source "
                   f"{'removed' if j['result'].get('source_removed') else 'kept (stopped)'}")


# -- hosts (admins) ------------------------------------------------------------------------------------
def host(api, out, host_action, name, minutes=None, **_):
    if host_action == "add":
        answer = api.call("POST", "/hosts", body={"name": name, "minutes": minutes})
        out.write(f"Host {name} added. On the host, as root, run once (the token works once, for "
                  f"{minutes or 60} minutes):\n\n    {answer['command']}\n")
    elif host_action == "token":
        answer = api.call("POST", f"/hosts/{name}/join-token", body={"minutes": minutes})
        out.write(f"New join token for {name} (earlier unused ones no longer work):\n\n    {answer['command']}\n")
    else:
        api.call("POST", f"/hosts/{name}/{host_action}", body={})
        out.write(f"Host {name}: {HOST_ACTIONS[host_action]}\n")


HOST_ACTIONS = {
    "add": "added", "token": "new join token",
    "rotate": "its agent gets a new credential at its next heartbeat; the old one stops working once it is used",
    "revoke": "credential revoked; its agent is cut off (a new join token lets it join again)",
    "drain": "drained: it takes no new jobs", "enable": "enabled: it takes new jobs again",
    "remove": "removed; its credential no longer works and its history stays",
}


def _host_action(action):
    def handler(api, out, host, **_):
        api.call("POST", f"/hosts/{host}/{action}", body={})
        out.write(f"Host {host}: {HOST_ACTIONS[action]}\n")
    return handler


# -- API tokens (your own) ---------------------------------------------------------------------------
def token(api, out, token_action, ref=None, scope="read", days=None, json=False, **_):
    if token_action == "list":
        rows = api.call("GET", "/tokens")
        if json:
            return dump_json(out, rows)
        table(out, ["id", "prefix", "name", "scope", "state", "created", "expires", "last used"], [
            [t["id"], t["prefix"], t["name"], t["scope"], t["state"], ago(t["created_at"]),
             str(t["expires_at"] or "never")[:10], ago(t["last_used_at"])] for t in rows])
    elif token_action == "create":
        if not ref:
            raise CliError("cryo token create NAME: say what the token is for")
        made = api.call("POST", "/tokens", body={"name": ref, "scope": scope, "days": days})
        if json:
            return dump_json(out, made)
        out.write(f"{made['token']}\n")
        out.write(f"# token {made['prefix']}… ({made['scope']}) works until {str(made['expires_at'])[:10]}; "
                  "it is shown only this once\n")
    else:
        if not ref:
            raise CliError("cryo token revoke ID|PREFIX: which token (see `cryo token list`)")
        gone = api.call("POST", f"/tokens/{ref}/revoke", body={})
        out.write(f"Token {gone['prefix']}… ({gone['name']}) revoked: it no longer works\n")


_json = _arg("--json", action="store_true", help="machine-readable output")
SPECS = [
    Spec("hosts", "list hosts and their health", hosts, [_json]),
    Spec("host", "add a host (prints its agent's join command), or manage its credential (admin)", host, [
        _arg("host_action", choices=["add", "token", "rotate", "revoke", "remove"], metavar="ACTION",
             help="add | token (a new join token) | rotate | revoke | remove"),
        _arg("name", metavar="NAME"),
        _arg("--minutes", type=int, default=None, help="how long a join token works (default 60)"),
    ]),
    Spec("containers", "list containers", containers, [
        _arg("--host", default=None), _arg("--all", action="store_true", help="include gone containers"), _json,
    ]),
    Spec("checkpoints", "list a container's checkpoints", checkpoints, [
        _arg("host"), _arg("container", help="name or id"), _json,
    ]),
    Spec("jobs", "list recent jobs", jobs, [
        _json, _arg("--host", default=None),
        _arg("--state", default=None, choices=["queued", "running", "succeeded", "failed"]),
        _arg("--limit", type=int, default=50),
    ]),
    Spec("job", "show one job (an id or a prefix of one)", job, [_arg("job_id"), _json]),
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
    Spec("export", "archive a checkpoint into Cryo's checkpoint store", export, [
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
    Spec("token", "your API tokens: list, create NAME (shown once), revoke ID|PREFIX", token, [
        _arg("token_action", choices=["list", "create", "revoke"], metavar="ACTION", help="list | create | revoke"),
        _arg("ref", nargs="?", default=None, metavar="NAME|ID",
             help="create: what the token is for; revoke: its id or prefix"),
        _arg("--scope", choices=["read", "operate"], default="read",
             help="read (look only, the default) or operate (act as you may)"),
        _arg("--days", type=int, default=None, help="how long it works (default: the dashboard's, 90 days)"),
        _json,
    ]),
    Spec("inspect", "show what a checkpoint holds: processes, memory, CRIU's timing, open files, mounts", inspect, [
        _arg("host"), _arg("container", help="name or id"), _arg("checkpoint"), _json,
    ]),
    Spec("pin", "keep a checkpoint from every retention policy", pinning(True), [
        _arg("host"), _arg("container", help="name or id"), _arg("checkpoint"),
    ]),
    Spec("unpin", "let retention policies consider a checkpoint again", pinning(False), [
        _arg("host"), _arg("container", help="name or id"), _arg("checkpoint"),
    ]),
    Spec("schedule", "checkpoint schedules: list | show ID | add HOST CONTAINER | edit ID | pause ID | resume ID "
         "| delete ID", schedules.schedule, [
             _arg("schedule_action", choices=schedules.ACTIONS, metavar="ACTION", help=" | ".join(schedules.ACTIONS)),
             _arg("what", nargs="*", metavar="ARG", help="HOST CONTAINER (add), HOST (add --label), or a schedule id"),
             _arg("--cron", default=None, help="a five-field cron expression, UTC ('0 * * * *')"),
             _arg("--every", default=None, help="an interval: 90s, 15m, 2h, 1d"),
             _arg("--label", default=None, metavar="KEY=VALUE", help="every container of HOST with this label"),
             _arg("--fleet", action="store_true", help="every container of the fleet (admin)"),
             _arg("--stop", action="store_true", help="stop the container at each checkpoint (default: leave it "
                                                      "running)"),
             _json,
         ]),
    Spec("drain", "stop sending new jobs to a host (admin)", _host_action("drain"), [_arg("host")]),
    Spec("enable", "accept new jobs on a drained host again (admin)", _host_action("enable"), [_arg("host")]),
    Spec("remove", "remove a host: its credential stops working, its history stays (admin)",
         _host_action("remove"), [_arg("host")]),
]
BY_NAME = {spec.name: spec for spec in SPECS}
