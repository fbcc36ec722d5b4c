"""The querysets behind the pages. Each page reads what it shows in a fixed number of queries, whatever the size."""
from datetime import timedelta

from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from snapshots.models import Checkpoint, Container, Host, Job
from snapshots.services import access

RECENT_JOBS = 15
CONTAINER_JOBS = 20
CONTAINER_CHECKPOINTS = 100
SEARCH_LIMIT = 50

# Sort keys a person may pick on a host's container table, mapped to columns (name breaks ties).
CONTAINER_SORTS = {
    "name": "name",
    "state": "state",
    "image": "image",
    "checkpoint": "last_checkpoint_at",
}


def _last_checkpoint(column):
    return Subquery(
        Checkpoint.objects.filter(container=OuterRef("pk"), status__in=Checkpoint.USABLE)
        .order_by("-created_at", "-id")
        .values(column)[:1]
    )


def with_last_checkpoint(containers):
    return containers.select_related("host").annotate(
        last_checkpoint_name=_last_checkpoint("name"), last_checkpoint_at=_last_checkpoint("created_at")
    )


def jobs():
    return Job.objects.select_related("host", "target_host")


def visible_jobs(user, qs=None):
    return access.visible(user, jobs() if qs is None else qs, "host", "target_host")


def visible_hosts(user):
    return access.visible(user, Host.objects.order_by("name"), "pk")


def overview(user):
    now = timezone.now()
    return {
        "hosts": list(visible_hosts(user)),
        "recent_jobs": list(visible_jobs(user).order_by("-created_at")[:RECENT_JOBS]),
        "failures": list(
            visible_jobs(user).filter(state=Job.State.FAILED, created_at__gte=now - timedelta(days=1))
            .order_by("-created_at")[:5]
        ),
        "in_flight": visible_jobs(user, Job.objects.filter(state__in=Job.ENQUEUED_STATES)).count(),
    }


def host_containers(host, *, sort="name", include_gone=False):
    """A host's containers with their last checkpoint, sorted by a known key (`-key` for descending)."""
    key = sort.lstrip("-")
    column = CONTAINER_SORTS.get(key, "name")
    descending = sort.startswith("-") and key in CONTAINER_SORTS
    ordering = F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)
    qs = Container.objects.filter(host=host)
    if not include_gone:
        qs = qs.present()
    return with_last_checkpoint(qs).order_by(ordering, "name", "pk")


def container_page(container):
    live = container.checkpoints.exclude(status=Checkpoint.Status.DELETED).defer("contents").order_by("-created_at")
    return {
        "checkpoints": list(live[:CONTAINER_CHECKPOINTS]),
        "checkpoints_limit": CONTAINER_CHECKPOINTS,
        "jobs": list(jobs().filter(container=container).order_by("-created_at")[:CONTAINER_JOBS]),
    }


def operable_hosts(user):
    """Hosts the person may act on (targets of a clone or a migration)."""
    hosts = Host.objects.order_by("name")
    ids = access.operable_host_ids(user)
    return list(hosts if ids is None else hosts.filter(pk__in=ids))


def search_containers(text, user):
    text = text.strip().lstrip("/")
    if not text:
        return []
    match = Q(name__icontains=text)
    if len(text) >= 3 and all(c in "0123456789abcdef" for c in text.lower()):
        match |= Q(engine_id__startswith=text.lower())
    found = access.visible(user, Container.objects.filter(match))
    found = found.order_by(F("gone_at").asc(nulls_first=True), "name", "host__name")
    return list(with_last_checkpoint(found)[:SEARCH_LIMIT])


def filtered_jobs(user, *, host="", person="", kind="", state=""):
    qs = visible_jobs(user)
    if host:
        qs = qs.filter(host__name=host)
    if person:
        qs = qs.filter(requested_by_name=person)
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    return qs
