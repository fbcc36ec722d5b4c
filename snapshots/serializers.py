"""Plain-data views of domain rows, shared by the CLI's --json output and the API."""


def job_dict(job):
    return {
        "id": str(job.id), "kind": job.kind, "state": job.state, "step": job.step, "host": job.host.name,
        "target_host": job.target_host.name if job.target_host_id else None,
        "container": job.container_name, "checkpoint": job.checkpoint_name,
        "requested_by": job.requested_by_name, "source": job.source,
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
        "duration_ms": job.duration_ms, "phase": job.phase, "phases": job.phases, "error": job.error,
        "result": {k: v for k, v in (job.result or {}).items() if k != "traceback"},
        "version": job_version(job),
    }


def job_version(job):
    """What a waiting client has seen of a job; it is answered as soon as this changes."""
    return f"{job.state}:{job.step}:{job.phase}:{len(job.phases)}"


def host_dict(h):
    return {
        "name": h.name, "status": h.effective_status, "reason": h.effective_reason, "drained": h.drained,
        "engine_kind": h.engine_kind, "engine_version": h.docker_version,
        "docker_version": h.docker_version, "api_version": h.api_version, "experimental": h.experimental,
        "criu_ok": h.criu_ok, "criu_version": h.criu_version, "kernel": h.kernel, "cpu_model": h.cpu_model,
        "docker_root_dir": h.docker_root_dir, "containers_running": h.containers_running,
        "last_seen": h.last_seen, "queue": h.queue, "joined_at": h.joined_at, "agent": h.worker_id,
        "criu_sockets_ok": h.criu_sockets_ok,
    }


def container_dict(c, *, reveal=False):
    """A container; its command line (which may carry secrets) only for those who may operate it (`reveal`)."""
    return {"host": c.host.name, "id": c.engine_id, "name": c.name, "image": c.image, "state": c.state,
            "command": c.command if reveal else None, "created": c.created, "gone_at": c.gone_at}


def checkpoint_dict(cp):
    stored = next((a for a in cp.archives.all() if a.state == "complete" and a.keep), None)
    return {"name": cp.name, "status": cp.status, "exit": cp.exit, "size_bytes": cp.size_bytes,
            "created_by": cp.created_by_name, "created_at": cp.created_at, "engine": cp.engine_facts,
            "pinned": cp.pinned,
            "archive": stored.name if stored else None, "archive_sha256": stored.sha256 if stored else None}


STAT_LABELS = (("freezing_time", "Freezing"), ("frozen_time", "Frozen"), ("memdump_time", "Memory dump"),
               ("memwrite_time", "Memory write"))


def contents_dict(checkpoint):
    """What a checkpoint holds (as its agent read it when it was made), with the versions it was taken with."""
    held = checkpoint.contents or {}
    facts = checkpoint.engine_facts or {}
    engine = "Podman" if facts.get("engine_kind") == "podman" else "Docker"
    return {
        "checkpoint": checkpoint.name, "read": bool(held) and not held.get("error"), "error": held.get("error", ""),
        "engine": f"{engine} {facts.get('docker_version', '')}".strip(),
        "criu_version": held.get("criu_version") or facts.get("criu_version", ""),
        "kernel": held.get("kernel") or facts.get("kernel", ""),
        "processes": held.get("processes", []), "memory": held.get("memory", {}),
        "stats": [{"name": label, "ms": round(held["stats"][key] / 1000, 1)}
                  for key, label in STAT_LABELS if key in held.get("stats", {})],
        "files": held.get("files", []), "sockets": held.get("sockets", []), "mounts": held.get("mounts", []),
        "images_version": held.get("images_version"),
    }
