"""Limits on what one person, one host and one container may have at once, checked as a job is created (inside
its transaction, after the container's lock), so a flood of requests queues nothing beyond them. A request over a
limit is refused with a message saying which limit and what to do; transitions.create puts the refusal on record.

Settings (env): CRYO_MAX_JOBS_PER_USER, CRYO_MAX_JOBS_PER_HOST (jobs queued or running), CRYO_CHECKPOINTS_PER_CONTAINER
and CRYO_CHECKPOINT_MIB_PER_CONTAINER (checkpoints kept by a container), and at most one queued sync per host."""
from django.conf import settings
from django.db.models import Q, Sum

from ..errors import Busy, OverLimit
from ..models import Checkpoint, Job


def _in_flight():
    return Job.objects.filter(state__in=Job.ENQUEUED_STATES)


def check(*, actor, kind, host, target_host=None, container=None):
    """Raise OverLimit (or Busy, for a second queued sync) when this job would pass a limit."""
    if kind == Job.Kind.SYNC:
        queued = _in_flight().filter(kind=Job.Kind.SYNC, host=host, state=Job.State.QUEUED).first()
        if queued is not None:
            raise Busy(f"a sync of host {host.name} is already queued (job {queued.short_id}, requested by "
                       f"{queued.requested_by_name or 'system'}); it will bring the inventory up to date")
    if actor is not None and actor.pk:
        mine = _in_flight().filter(requested_by=actor).count()
        if mine >= settings.CRYO_MAX_JOBS_PER_USER:
            raise OverLimit(f"{actor.get_username()} has {mine} jobs queued or running, the most one person may have "
                            f"at once (CRYO_MAX_JOBS_PER_USER={settings.CRYO_MAX_JOBS_PER_USER}); wait for some to "
                            "finish")
    for each in {h for h in (host, target_host) if h is not None}:
        busy = _in_flight().filter(Q(host=each) | Q(target_host=each)).count()
        if busy >= settings.CRYO_MAX_JOBS_PER_HOST:
            raise OverLimit(f"host {each.name} has {busy} jobs queued or running, the most one host may have at once "
                            f"(CRYO_MAX_JOBS_PER_HOST={settings.CRYO_MAX_JOBS_PER_HOST}); wait for some to finish")
    if kind == Job.Kind.CHECKPOINT and container is not None:
        _checkpoint_quota(container)


def _checkpoint_quota(container):
    kept = Checkpoint.objects.filter(container=container).exclude(status=Checkpoint.Status.DELETED)
    count = kept.count()
    if count >= settings.CRYO_CHECKPOINTS_PER_CONTAINER:
        raise OverLimit(f"container {container.name} on {container.host.name} keeps {count} checkpoints, its quota "
                        f"(CRYO_CHECKPOINTS_PER_CONTAINER={settings.CRYO_CHECKPOINTS_PER_CONTAINER}); delete one first")
    used = kept.aggregate(total=Sum("size_bytes"))["total"] or 0
    quota = settings.CRYO_CHECKPOINT_MIB_PER_CONTAINER << 20
    if used >= quota:
        raise OverLimit(f"container {container.name} on {container.host.name} keeps {used / (1 << 20):.0f} MiB of "
                        f"checkpoints, its quota (CRYO_CHECKPOINT_MIB_PER_CONTAINER="
                        f"{settings.CRYO_CHECKPOINT_MIB_PER_CONTAINER}); delete one first")
