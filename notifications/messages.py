"""What a notification says about a job, for webhooks (JSON) and e-mail (text)."""
from django.conf import settings
from django.urls import reverse


def job_url(job):
    base = settings.CRYO_BASE_URL.rstrip("/")
    return f"{base}{reverse('job', args=[job.id])}" if base else ""


def job_facts(job):
    def when(moment):
        return moment.isoformat() if moment else None

    return {
        "id": str(job.id), "kind": job.kind, "state": job.state, "host": job.host.name,
        "target_host": job.target_host.name if job.target_host_id else None, "container": job.container_name or None,
        "checkpoint": job.checkpoint_name or None, "requested_by": job.requested_by_name or "system",
        "error": job.error or None, "created_at": when(job.created_at), "started_at": when(job.started_at),
        "finished_at": when(job.finished_at), "duration_seconds": job.duration_seconds,
        "downtime_seconds": (job.result or {}).get("downtime_seconds"), "url": job_url(job) or None,
    }


def email_subject(job):
    return f"[Cryo] {job.get_state_display()}: {job.describe()}"


def email_body(job, team):
    lines = [f"{job.get_kind_display()} {job.describe()} {job.state} on {job.finished_at:%Y-%m-%d %H:%M:%S} UTC."
             if job.finished_at else f"{job.describe()}: {job.state}.", ""]
    if job.error:
        lines += ["Error:", job.error, ""]
    lines += [f"Requested by: {job.requested_by_name or 'system'} ({job.source or 'unknown source'})",
              f"Job: {job.id}"]
    if job.duration_ms is not None:
        lines.append(f"Duration: {job.duration_seconds:.1f} s")
    url = job_url(job)
    if url:
        lines.append(f"Details: {url}")
    lines += ["", f"You get this because your team {team.name} operates host {job.host.name} in Cryo."]
    return "\n".join(lines) + "\n"
