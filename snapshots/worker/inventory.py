"""Keep the Container rows of one host in step with its engine. Vanished containers are marked gone."""
from datetime import datetime, timezone as dt_timezone

from django.db import transaction
from django.utils import timezone

from ..errors import ContainerNotFound
from ..models import Checkpoint, Container, Host


def _created(value):
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=dt_timezone.utc)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value[:26].rstrip("Z") if "." in value else value.rstrip("Z")).replace(
                tzinfo=dt_timezone.utc
            )
        except ValueError:
            return None
    return None


def fields_from_inspect(info):
    config = info.get("Config") or {}
    host_config = info.get("HostConfig") or {}
    cmd = config.get("Cmd") or []
    return {
        "name": (info.get("Name") or "").lstrip("/"),
        "image": config.get("Image") or "",
        "image_id": info.get("Image") or "",
        "command": " ".join(cmd) if isinstance(cmd, list) else str(cmd),
        "state": (info.get("State") or {}).get("Status", ""),
        "labels": config.get("Labels") or {},
        "tty": bool(config.get("Tty")),
        "created": _created(info.get("Created")),
        "config": {
            "cmd": cmd,
            "entrypoint": config.get("Entrypoint"),
            "env": config.get("Env") or [],
            "labels": config.get("Labels") or {},
            "working_dir": config.get("WorkingDir") or "",
            "user": config.get("User") or "",
            "tty": bool(config.get("Tty")),
            "network_mode": host_config.get("NetworkMode") or "none",
        },
    }


def sync_all(host, engine):
    """Full sync: every container of the engine; returns counts."""
    now = timezone.now()
    summaries = engine.containers()
    existing = {c.engine_id: c for c in Container.objects.filter(host=host)}
    seen, added, changed = set(), 0, 0
    for item in summaries:
        engine_id = item["Id"]
        seen.add(engine_id)
        row = existing.get(engine_id)
        state = item.get("State", "")
        name = ((item.get("Names") or ["/"])[0]).lstrip("/")
        if row is None or row.state != state or row.name != name or row.gone_at or not row.config:
            try:
                fields = fields_from_inspect(engine.inspect(engine_id))
            except ContainerNotFound:
                continue
            _upsert(host, engine_id, fields, now)
            added += row is None
            changed += row is not None
    gone = [c.pk for eid, c in existing.items() if eid not in seen and c.gone_at is None]
    if gone:
        Container.objects.filter(pk__in=gone).update(gone_at=now, state="gone")
    Container.objects.filter(host=host, engine_id__in=seen).update(last_synced=now)
    _sync_checkpoints(host, engine)
    running = sum(1 for item in summaries if item.get("State") == "running")
    images = [{"id": i["Id"], "tags": i.get("RepoTags") or []} for i in engine.images()]
    Host.all_objects.filter(pk=host.pk).update(containers_running=running, images=images)
    return {"containers": len(seen), "added": added, "changed": changed, "gone": len(gone), "running": running}


def sync_container(host, engine, engine_id):
    """Refresh one container (after a job, or on an engine event)."""
    now = timezone.now()
    try:
        fields = fields_from_inspect(engine.inspect(engine_id))
    except ContainerNotFound:
        Container.objects.filter(host=host, engine_id=engine_id, gone_at__isnull=True).update(gone_at=now, state="gone")
        return None
    row = _upsert(host, engine_id, fields, now)
    running = Container.objects.present().filter(host=host, state="running").count()
    Host.all_objects.filter(pk=host.pk).update(containers_running=running)
    return row


def _upsert(host, engine_id, fields, now):
    with transaction.atomic():
        row, _ = Container.objects.update_or_create(
            host=host, engine_id=engine_id, defaults={**fields, "last_synced": now, "gone_at": None}
        )
    return row


def _sync_checkpoints(host, engine):
    """Checkpoints Cryo knows about that the engine no longer has are marked missing."""
    rows = Checkpoint.objects.filter(container__host=host, status=Checkpoint.Status.PRESENT).select_related("container")
    by_container = {}
    for cp in rows:
        by_container.setdefault(cp.container, []).append(cp)
    for container, checkpoints in by_container.items():
        if container.gone_at:
            names = set()
        else:
            try:
                names = set(engine.checkpoints(container.engine_id))
            except ContainerNotFound:
                names = set()
        missing = [cp.pk for cp in checkpoints if cp.name not in names]
        if missing:
            Checkpoint.objects.filter(pk__in=missing).update(status=Checkpoint.Status.MISSING)
