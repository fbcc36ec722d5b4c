"""What an agent reported a checkpoint holds (snapshots.host.contents), checked like any input from a host: known
fields only, each of its type and within its limits; anything else is dropped."""
from . import results

PROCESS_KEYS = ("pid", "ppid", "pgid", "sid", "threads")
STAT_KEYS = ("freezing_time", "frozen_time", "memdump_time", "memwrite_time", "pages_scanned", "pages_written",
             "pages_skipped_parent", "pages_lazy", "irmap_resolve")
LIMITS = {"processes": 500, "files": 2000, "sockets": 2000, "mounts": 500}


def _rows(data, key):
    value = (data or {}).get(key)
    return [row for row in value[: LIMITS[key]] if isinstance(row, dict)] if isinstance(value, list) else []


def _open(row):
    return {"pid": results.number(row, "pid"), "fd": results.number(row, "fd"),
            "type": results.text(row, "type", limit=32), "what": results.text(row, "what", limit=1000)}


def clean(data):
    if not isinstance(data, dict):
        return {}
    if data.get("error"):
        return {"error": results.text(data, "error", limit=500)}
    memory = data.get("memory") if isinstance(data.get("memory"), dict) else {}
    stats = data.get("stats") if isinstance(data.get("stats"), dict) else {}
    return {
        "images_version": results.number(data, "images_version"),
        "criu_version": results.text(data, "criu_version", limit=64),
        "kernel": results.text(data, "kernel", limit=128),
        "processes": [{**{k: results.number(p, k) for k in PROCESS_KEYS},
                       "comm": results.text(p, "comm", limit=64), "state": results.text(p, "state", limit=32),
                       "cmdline": results.text(p, "cmdline", limit=4096)} for p in _rows(data, "processes")],
        "memory": results.counts(memory, ("pages", "bytes", "pages_written", "pages_scanned")),
        "stats": results.counts(stats, STAT_KEYS),
        "files": [_open(f) for f in _rows(data, "files")],
        "sockets": [_open(f) for f in _rows(data, "sockets")],
        "mounts": [{k: results.text(m, k, limit=1000) for k in ("mountpoint", "fstype", "fsname", "source", "root")}
                   for m in _rows(data, "mounts")],
    }
