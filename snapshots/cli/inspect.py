"""`cryo inspect`: what a checkpoint holds, as its host's agent read it from the checkpoint's CRIU images;
`cryo pin` / `cryo unpin`: keep a checkpoint from every retention policy, or let them consider it again."""
from .tables import dump_json, size, table


def inspect(api, out, host, container, checkpoint, json, **_):
    held = api.call("GET", f"/hosts/{host}/containers/{container}/checkpoints/{checkpoint}/contents")
    if json:
        return dump_json(out, held)
    out.write(f"Checkpoint {held['checkpoint']} of {host}/{container}: {held['engine'] or 'engine ?'}, CRIU "
              f"{held['criu_version'] or '?'}, {held['kernel'] or 'kernel ?'}\n")
    if not held["read"]:
        out.write(f"Its images were not read: {held['error'] or 'only checkpoints made by Cryo are read'}\n")
        return
    out.write("\nProcesses\n")
    table(out, ["pid", "ppid", "name", "command line"],
          [[p["pid"], p["ppid"], p["comm"], p["cmdline"]] for p in held["processes"]])
    memory = held["memory"]
    timing = ", ".join(f"{s['name'].lower()} {s['ms']} ms" for s in held["stats"])
    out.write(f"\nMemory: {memory.get('pages', 0)} pages dumped ({size(memory.get('bytes'))})\n")
    out.write(f"Timing: {timing or '-'}\n")
    if held["sockets"] or held["files"]:
        out.write("\nOpen files and sockets\n")
        table(out, ["pid", "fd", "kind", "what"],
              [[f["pid"], f["fd"], f["type"], f["what"]] for f in held["sockets"] + held["files"]])
    if held["mounts"]:
        out.write("\nMounts\n")
        table(out, ["mount point", "file system", "source"],
              [[m["mountpoint"], m["fsname"] or m["fstype"], m["source"]] for m in held["mounts"]])


def pinning(pinned):
    def handler(api, out, host, container, checkpoint, **_):
        api.call("POST", f"/hosts/{host}/containers/{container}/checkpoints/{checkpoint}/pin",
                 body={"pinned": pinned})
        out.write(f"Checkpoint {checkpoint} of {host}/{container}: "
                  f"{'pinned (no retention policy prunes it)' if pinned else 'unpinned'}\n")
    return handler
