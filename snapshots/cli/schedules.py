"""`cryo schedule ...`: list, show (with its runs), add, edit, pause, resume and delete checkpoint schedules."""
import re

from .tables import ago, dump_json, table
from .transport import CliError

EVERY = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
ACTIONS = ("list", "show", "add", "edit", "pause", "resume", "delete")
DONE = {"pause": "paused", "resume": "resumed", "delete": "deleted"}


def seconds(text):
    if text is None:
        return None
    match = EVERY.match(text.lower())
    if not match:
        raise CliError(f"--every {text!r}: write a number and a unit, such as 90s, 15m, 2h or 1d")
    return int(match.group(1)) * UNITS[match.group(2)]


def _target(s):
    if s["selector"] == "container":
        return f"{s['host']}/{s['container']}"
    if s["selector"] == "label":
        return f"{s['host']} label {s['label']}"
    return "fleet"


def _one_id(what, action):
    if len(what) != 1 or not what[0].isdigit():
        raise CliError(f"cryo schedule {action} takes one schedule id (see `cryo schedule list`)")
    return int(what[0])


def _timing(cron, every):
    body = {}
    if cron is not None:
        body["cron"] = cron
    if every is not None:
        body["interval_seconds"] = seconds(every)
    return body


def schedule(api, out, schedule_action, what, cron, every, label, fleet, stop, json, **_):
    if schedule_action == "list":
        rows = api.call("GET", "/schedules")
        if json:
            return dump_json(out, rows)
        if not rows:
            out.write("No schedules. Add one: cryo schedule add HOST CONTAINER --every 1h\n")
            return
        table(out, ["id", "takes", "when", "mode", "state", "next run", "made by"], [
            [s["id"], _target(s), s["when"], "leave-running" if s["leave_running"] else "exit",
             "paused" if s["paused"] else "active", "-" if s["paused"] else s["next_run_at"], s["created_by"]]
            for s in rows])
        return
    if schedule_action == "add":
        body = {"leave_running": not stop, **_timing(cron, every)}
        if fleet:
            body["selector"] = "fleet"
        elif label:
            if len(what) != 1:
                raise CliError("cryo schedule add --label KEY=VALUE takes the host: cryo schedule add HOST --label ...")
            body.update(selector="label", host=what[0], label=label)
        else:
            if len(what) != 2:
                raise CliError("cryo schedule add takes HOST CONTAINER (or HOST --label KEY=VALUE, or --fleet)")
            body.update(selector="container", host=what[0], container=what[1])
        made = api.call("POST", "/schedules", body=body)
        out.write(f"Schedule {made['id']}: {made['when']} on {_target(made)}; next run {made['next_run_at']}\n")
        return
    schedule_id = _one_id(what, schedule_action)
    if schedule_action == "show":
        found = api.call("GET", f"/schedules/{schedule_id}")
        if json:
            return dump_json(out, found)
        out.write(f"Schedule {found['id']}: {found['when']} on {_target(found)} "
                  f"({'paused' if found['paused'] else 'next run ' + str(found['next_run_at'])}), "
                  f"made by {found['created_by']}\n")
        table(out, ["at", "container", "outcome", "job or reason"], [
            [ago(r["at"]), r["container"] or "-", r["outcome"], r["job"] or r["reason"]] for r in found["runs"]])
        return
    if schedule_action == "edit":
        body = _timing(cron, every)
        if stop:
            body["leave_running"] = False
        if label is not None:
            body["label"] = label
        changed = api.call("POST", f"/schedules/{schedule_id}/edit", body=body)
        out.write(f"Schedule {schedule_id}: {changed['when']} on {_target(changed)}; next run "
                  f"{changed['next_run_at']}\n")
        return
    api.call("POST", f"/schedules/{schedule_id}/{schedule_action}", body={})
    out.write(f"Schedule {schedule_id}: {DONE[schedule_action]}\n")
