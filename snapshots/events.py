"""What the rest of Cryo hears about a job. The job pipeline calls `job_changed(job)` on commit whenever a job is
created or changes state or phase.

It tells open pages (a Redis pub/sub message, read by the Server-Sent Events endpoint) and, once the job is over,
the teams that asked to hear about it (notifications, delivered by the control process). Neither may hold up or
fail the job: Redis gets short socket timeouts and no retries, and every error is logged, never raised.
"""
import json
import logging

from django.conf import settings

from .models import Job

log = logging.getLogger(__name__)

# Seconds a publish may wait for Redis. A job's transition never waits longer than this for its pages.
PUBLISH_TIMEOUT = 0.5

_client = None


def job_changed(job):
    """Tell pages and teams about a job's new state. Never raises."""
    try:
        event = job_event(job.pk)
    except Exception:
        log.exception("job %s changed, but its row could not be read for the event", job.pk)
        return
    if event is None:
        return
    try:
        publish(event)
    except Exception as exc:  # the page falls back to polling; the job goes on
        log.warning("could not publish the change of job %s to Redis: %s", job.pk, exc)
    if event["state"] in Job.TERMINAL_STATES:
        try:
            from notifications.fanout import job_finished

            job_finished(job.pk)
        except Exception:
            log.exception("could not hand the end of job %s to notifications", job.pk)


def job_event(job_id):
    """The event of a job as its row holds it now (callers may hold an older copy): id, state, phase, host,
    target host and container."""
    row = (Job.objects.filter(pk=job_id)
           .values("id", "state", "phase", "kind", "host__name", "target_host__name", "container_id").first())
    if row is None:
        return None
    return {
        "job": str(row["id"]), "state": row["state"], "phase": row["phase"], "kind": row["kind"],
        "host": row["host__name"], "target_host": row["target_host__name"] or "", "container": row["container_id"],
    }


def channel():
    """The pub/sub channel of job events. Redis pub/sub ignores the database number, so the channel carries it:
    two installations (or two test runs) that share a Redis server on different databases stay apart."""
    return f"cryo.jobs.{_redis().connection_pool.connection_kwargs.get('db', 0)}"


def publish(event):
    _redis().publish(channel(), json.dumps(event))


def _redis():
    global _client
    if _client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        _client = redis.Redis.from_url(
            settings.CRYO_EVENTS_URL, socket_timeout=PUBLISH_TIMEOUT, socket_connect_timeout=PUBLISH_TIMEOUT,
            retry=Retry(NoBackoff(), 0), health_check_interval=0,
        )
    return _client
