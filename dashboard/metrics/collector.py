"""The numbers Prometheus scrapes, read from the database with a fixed number of aggregate queries.

Nothing is counted in process memory: with several web processes each would hold its own share, and a restart
would reset it. Counters are counts over the job history, so they only grow while jobs are kept.
"""
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, FloatField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from snapshots.models import Archive, Checkpoint, Host, Job

JOB_SECONDS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)
WAIT_SECONDS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
DOWNTIME_SECONDS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
HOST_STATUSES = [s.value for s in Host.Status]


def _buckets(prefix, bounds):
    return {f"{prefix}{i}": bound for i, bound in enumerate(bounds)}


def _histogram(row, prefix, bounds, count, total):
    buckets = [(_le(bound), row[f"{prefix}{i}"]) for i, bound in enumerate(bounds)]
    return buckets + [("+Inf", count)], total


def _le(bound):
    return str(float(bound))


def _seconds(value):
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, timedelta) else float(value) / 1_000_000


class CryoCollector:
    """A prometheus_client collector: collect() runs four queries, whatever the number of jobs or hosts."""

    def collect(self):
        hosts = {h.pk: h for h in Host.all_objects.all()}  # removed hosts keep naming their history
        yield from self._jobs(hosts)
        yield from self._migrations(hosts)
        yield from self._hosts(hosts)
        yield from self._checkpoints()

    def _jobs(self, hosts):
        jobs = CounterMetricFamily("cryo_jobs", "Finished jobs by kind, host and outcome",
                                   labels=["kind", "host", "outcome"])
        in_flight = GaugeMetricFamily("cryo_jobs_in_flight", "Jobs queued or running now, by kind, host and state",
                                      labels=["kind", "host", "state"])
        duration = HistogramMetricFamily("cryo_job_duration_seconds", "Run time of finished jobs (started to end)",
                                         labels=["kind", "host", "outcome"])
        waited = HistogramMetricFamily("cryo_job_queue_wait_seconds",
                                       "Time jobs waited in their host's queue (requested to started)",
                                       labels=["kind", "host"])
        wait = ExpressionWrapper(F("started_at") - F("created_at"), output_field=DurationField())
        rows = (
            Job.objects.order_by().annotate(wait=wait).values("kind", "host_id", "state").annotate(
                n=Count("pk"),
                timed=Count("pk", filter=Q(duration_ms__isnull=False)),
                ms=Sum("duration_ms"),
                started=Count("pk", filter=Q(started_at__isnull=False)),
                waited=Sum("wait"),
                **{k: Count("pk", filter=Q(duration_ms__lte=v * 1000)) for k, v in _buckets("d", JOB_SECONDS).items()},
                **{k: Count("pk", filter=Q(wait__lte=timedelta(seconds=v)))
                   for k, v in _buckets("w", WAIT_SECONDS).items()},
            )
        )
        waits = {}
        for row in rows:
            host = hosts[row["host_id"]].name
            if row["state"] in Job.TERMINAL_STATES:
                labels = [row["kind"], host, row["state"]]
                jobs.add_metric(labels, row["n"])
                buckets, total = _histogram(row, "d", JOB_SECONDS, row["timed"], (row["ms"] or 0) / 1000)
                duration.add_metric(labels, buckets, total)
            else:
                in_flight.add_metric([row["kind"], host, row["state"]], row["n"])
            # Waits are summed over every state that has started (running, succeeded, failed).
            acc = waits.setdefault((row["kind"], host), {"count": 0, "sum": 0.0, "b": [0] * len(WAIT_SECONDS)})
            acc["count"] += row["started"]
            acc["sum"] += _seconds(row["waited"])
            acc["b"] = [a + row[f"w{i}"] for i, a in enumerate(acc["b"])]
        for (kind, host), acc in sorted(waits.items()):
            buckets = [(_le(b), n) for b, n in zip(WAIT_SECONDS, acc["b"], strict=True)] + [("+Inf", acc["count"])]
            waited.add_metric([kind, host], buckets, acc["sum"])
        yield from (jobs, in_flight, duration, waited)

    def _migrations(self, hosts):
        downtime = HistogramMetricFamily(
            "cryo_migration_downtime_seconds",
            "Downtime of migrations (checkpoint start on the source to restore end), by source, target and outcome",
            labels=["host", "target_host", "outcome"])
        seconds = Cast(KT("result__downtime_seconds"), FloatField())
        rows = (
            Job.objects.order_by().filter(kind=Job.Kind.MIGRATE, state__in=Job.TERMINAL_STATES,
                                          result__has_key="downtime_seconds")
            .exclude(result__downtime_seconds=None)  # JSON null: the migration failed before its checkpoint
            .annotate(downtime=seconds)
            .values("host_id", "target_host_id", "state")
            .annotate(n=Count("pk"), total=Sum("downtime"),
                      **{k: Count("pk", filter=Q(downtime__lte=v)) for k, v in _buckets("b", DOWNTIME_SECONDS).items()})
        )
        for row in rows:
            target = hosts[row["target_host_id"]].name if row["target_host_id"] else ""
            buckets, total = _histogram(row, "b", DOWNTIME_SECONDS, row["n"], row["total"] or 0.0)
            downtime.add_metric([hosts[row["host_id"]].name, target, row["state"]], buckets, total)
        yield downtime

    def _hosts(self, hosts):
        status = GaugeMetricFamily("cryo_host_status", "1 for a host's current status (a missed heartbeat counts as "
                                   "offline), 0 for the others", labels=["host", "status"])
        drained = GaugeMetricFamily("cryo_host_drained", "1 when the host accepts no new jobs", labels=["host"])
        seen = GaugeMetricFamily("cryo_host_last_seen_timestamp_seconds", "Time of the last heartbeat of the host's "
                                 "worker", labels=["host"])
        free = GaugeMetricFamily("cryo_host_free_bytes", "Free space under the engine's data root", labels=["host"])
        now = timezone.now()
        for host in sorted((h for h in hosts.values() if h.removed_at is None), key=lambda h: h.name):
            current = Host.Status.OFFLINE if host.is_lost(now) else host.status
            for name in HOST_STATUSES:
                status.add_metric([host.name, name], 1 if name == current else 0)
            drained.add_metric([host.name], 1 if host.drained else 0)
            if host.last_seen:
                seen.add_metric([host.name], host.last_seen.timestamp())
            if host.free_bytes is not None:
                free.add_metric([host.name], host.free_bytes)
        yield from (status, drained, seen, free)

    def _checkpoints(self):
        count = GaugeMetricFamily("cryo_checkpoints", "Checkpoints present on the engines", labels=["host"])
        size = GaugeMetricFamily("cryo_checkpoint_bytes", "Bytes of the checkpoints present on the engines",
                                 labels=["host"])
        archived = GaugeMetricFamily("cryo_checkpoint_archive_bytes", "Bytes of checkpoint archives in the store",
                                     labels=["host"])
        rows = (
            Checkpoint.objects.order_by().filter(status__in=Checkpoint.USABLE)
            .values("container__host__name")
            .annotate(n=Count("pk"), size=Sum("size_bytes"))
            .order_by("container__host__name")
        )
        for row in rows:
            host = row["container__host__name"]
            count.add_metric([host], row["n"])
            size.add_metric([host], row["size"] or 0)
        stored = (
            Archive.objects.order_by().filter(kind=Archive.Kind.CHECKPOINT, state=Archive.State.COMPLETE, keep=True)
            .values("writer__name").annotate(size=Sum("size")).order_by("writer__name")
        )
        for row in stored:
            archived.add_metric([row["writer__name"]], row["size"] or 0)
        yield from (count, size, archived)
