from ..models import AuditEvent


def actor_name(user):
    if user is None:
        return "system"
    return user.get_username()


def record(*, actor, action, outcome, origin=None, host=None, container_name="", checkpoint_name="", job=None,
           target_host=None, details=None, actor_label=None):
    """Append one audit row. Call it inside the transaction of the change it records: the row is a link of the
    audit hash chain, and a row that cannot be written (or streamed, when that is required) rolls the change back.
    Text longer than its column is cut, not refused, so an over-long name still leaves its row."""
    details = dict(details or {})
    proxy_request_id = getattr(origin, "proxy_request_id", "") if origin else ""
    if proxy_request_id:
        details.setdefault("proxy_request_id", proxy_request_id)
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor_label or actor_name(actor),
        action=action,
        outcome=outcome,
        host_name=getattr(host, "name", host or "") or "",
        target_host_name=getattr(target_host, "name", target_host or "") or "",
        container_name=container_name or "",
        checkpoint_name=checkpoint_name or "",
        job_id=getattr(job, "id", None),
        source=getattr(origin, "source", "") if origin else "",
        request_id=getattr(origin, "request_id", "") if origin else "",
        details=details,
    )


def record_job_outcome(job, outcome, details=None):
    """The worker's audit row for a finished job, carrying the actor who asked for it."""
    return AuditEvent.objects.create(
        actor_id=job.requested_by_id,
        actor_name=job.requested_by_name or "system",
        action=job.kind,
        outcome=outcome,
        host_name=job.host.name,
        target_host_name=job.target_host.name if job.target_host_id else "",
        container_name=job.container_name,
        checkpoint_name=job.checkpoint_name,
        job_id=job.id,
        source=job.source,
        request_id=job.request_id,
        details=details or {},
    )
