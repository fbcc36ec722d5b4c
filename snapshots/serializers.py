"""Plain-data views of domain rows, shared by the CLI's --json output and the API."""


def job_dict(job):
    return {
        "id": str(job.id), "kind": job.kind, "state": job.state, "host": job.host.name,
        "target_host": job.target_host.name if job.target_host_id else None,
        "container": job.container_name, "checkpoint": job.checkpoint_name,
        "requested_by": job.requested_by_name, "source": job.source,
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
        "duration_ms": job.duration_ms, "phase": job.phase, "phases": job.phases, "error": job.error,
        "result": {k: v for k, v in (job.result or {}).items() if k != "traceback"},
    }


def host_dict(h):
    return {
        "name": h.name, "status": h.effective_status, "reason": h.effective_reason, "drained": h.drained,
        "docker_version": h.docker_version, "api_version": h.api_version, "experimental": h.experimental,
        "criu_ok": h.criu_ok, "criu_version": h.criu_version, "kernel": h.kernel, "cpu_model": h.cpu_model,
        "docker_root_dir": h.docker_root_dir, "containers_running": h.containers_running,
        "last_seen": h.last_seen, "queue": h.queue,
    }


def container_dict(c):
    return {"host": c.host.name, "id": c.engine_id, "name": c.name, "image": c.image, "state": c.state,
            "command": c.command, "created": c.created, "gone_at": c.gone_at}


def checkpoint_dict(cp):
    return {"name": cp.name, "status": cp.status, "exit": cp.exit, "size_bytes": cp.size_bytes,
            "created_by": cp.created_by_name, "created_at": cp.created_at, "engine": cp.engine_facts,
            "archive": cp.archive or None, "archive_sha256": cp.archive_sha256 or None}
