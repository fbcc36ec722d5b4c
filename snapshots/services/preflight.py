"""Checks before a clone or migration to another host, shown to the person before they confirm."""
from dataclasses import dataclass

from ..models import Checkpoint

ERROR, WARNING, OK = "error", "warning", "ok"


@dataclass
class Check:
    name: str
    level: str
    message: str

    @property
    def ok(self):
        return self.level != ERROR


def migration_preflight(container, target, *, checkpoint_name=None):
    """What stands between this container and a restore on `target`. Errors refuse; warnings inform."""
    source = container.host
    checks = []
    refusal = target.refusal()
    checks.append(Check("target ready", ERROR if refusal else OK, refusal or f"{target.name} is online and ready"))
    if target.pk == source.pk:
        checks.append(Check("image", OK, f"{container.image} is on {source.name}"))
        checks.append(_files_check(container))
        return checks
    source_refusal = source.refusal()
    checks.append(Check("source ready", ERROR if source_refusal else OK,
                        source_refusal or f"{source.name} is online and ready"))
    checks.append(_engine_check(source, target))
    if target.has_image(image_id=container.image_id):
        checks.append(Check("image", OK, f"{container.image} is already on {target.name}"))
    else:
        checks.append(Check("image", OK if not source_refusal else ERROR,
                            f"{container.image} will be copied from {source.name} through the checkpoint store"
                            if not source_refusal else f"{container.image} is not on {target.name} and the source "
                                                       "host cannot export it"))
    if container.tty:
        checks.append(Check("tty", ERROR, f"{container.name} was started with a TTY; CRIU cannot restore it on another "
                                          "host (criu#952). Recreate it without -t"))
    else:
        checks.append(Check("tty", OK, "no TTY"))
    checks.append(_cpu_check(source, target))
    checks.append(_space_check(container, target, checkpoint_name))
    checks.append(_files_check(container))
    checks.append(_connections_check(container))
    return checks


def _mib(n):
    return f"{n / (1 << 20):.1f} MiB"


def _files_check(container):
    """Its own files travel (the writable layer); mounted volumes and bind mounts do not."""
    facts, config = container.facts or {}, container.config or {}
    fixed = [m for m in config.get("mounts") or [] if m.get("type") in ("volume", "bind")]
    if fixed:
        what = "; ".join(f"{'the named volume ' + m['name'] if m['type'] == 'volume' else 'a bind mount'} at "
                         f"{m['destination']}" for m in fixed[:5])
        return Check("files", ERROR, f"{container.name} has {what}: their contents do not travel with a checkpoint, "
                                     "so the new container would not find them. Move the data into the container's "
                                     "own files or copy the volume yourself, then recreate the container without it")
    if container.host.engine_kind == "podman":
        return Check("files", OK, "Podman's own checkpoint export carries the container's own files")
    if facts.get("rw_problem"):
        return Check("files", ERROR, facts["rw_problem"])
    if "rw_bytes" not in facts:
        return Check("files", WARNING, "the size of the container's own files is not known yet (its host reports it "
                                       "with the next inventory); they travel with it")
    tmpfs = list((config.get("tmpfs") or {}).keys())
    extra = f"; its tmpfs at {', '.join(tmpfs[:3])} is recreated and CRIU carries its contents" if tmpfs else ""
    return Check("files", OK, f"the container's own files ({_mib(facts['rw_bytes'])} in its writable layer) travel "
                              f"with it{extra}")


def _connections_check(container):
    peers = (container.facts or {}).get("outside_peers") or []
    if peers:
        return Check("connections", ERROR,
                     f"{container.name} has TCP connections to peers outside it ({', '.join(peers[:3])}"
                     f"{' …' if len(peers) > 3 else ''}); they cannot be carried to another host: close them (or "
                     "stop the clients) first")
    return Check("connections", OK, "no connection to a peer outside the container")


def _engine_check(source, target):
    """A checkpoint moves only between hosts of the same engine. Docker's checkpoint is CRIU's images of a
    container laid out by Docker (its mounts, containerd's stdio pipes, no configuration of its own); Podman
    restores only its own checkpoint archive, which carries the container's Podman configuration and file-system
    changes. Neither engine can restore the other's: CRIU would have to find the other engine's mounts and pipes."""
    if source.engine_kind == target.engine_kind:
        return Check("engine", OK, f"both hosts run {source.get_engine_kind_display()}")
    return Check("engine", ERROR, f"{source.name} is a {source.get_engine_kind_display()} host and {target.name} a "
                                  f"{target.get_engine_kind_display()} host: a checkpoint cannot move between "
                                  "engines (each restores only its own kind of checkpoint, with its own mounts and "
                                  "container configuration); choose a target that runs "
                                  f"{source.get_engine_kind_display()}")


def _cpu_check(source, target):
    if not source.cpu_flags or not target.cpu_flags:
        return Check("cpu", WARNING, "CPU facts of one host are unknown; CRIU will check at restore")
    if _vendor(source.cpu_model) != _vendor(target.cpu_model):
        return Check("cpu", ERROR, f"different CPU vendors ({source.cpu_model} -> {target.cpu_model}); "
                                   "a restored process would fault")
    missing = sorted(source.cpu_flag_set() - target.cpu_flag_set())
    if missing:
        shown = " ".join(missing[:12]) + (" ..." if len(missing) > 12 else "")
        return Check("cpu", WARNING, f"{target.name} lacks CPU features of {source.name}: {shown}; a process "
                                     "that uses them would fault after restore")
    return Check("cpu", OK, "the target CPU has every feature of the source CPU")


def _vendor(model):
    model = (model or "").lower()
    return "intel" if "intel" in model else "amd" if "amd" in model else "arm" if "arm" in model else model


def _space_check(container, target, checkpoint_name):
    latest = (Checkpoint.objects.filter(container=container, size_bytes__isnull=False)
              .order_by("-created_at").values_list("size_bytes", flat=True).first())
    if target.free_bytes is None:
        return Check("space", WARNING, f"free space on {target.name} is unknown")
    if latest is None:
        return Check("space", WARNING if target.free_bytes > 1 << 30 else ERROR,
                     f"{_gib(target.free_bytes)} free on {target.name}; the checkpoint's size is not known yet")
    need = latest * 2
    if target.free_bytes < need:
        return Check("space", ERROR, f"{target.name} has {_gib(target.free_bytes)} free; about {_gib(need)} is needed")
    return Check("space", OK, f"{_gib(target.free_bytes)} free on {target.name} (about {_gib(need)} needed)")


def _gib(n):
    return f"{n / (1 << 30):.1f} GiB"
