"""Keep the Container rows of one host in step with what its agent sees on the engine. Vanished ones are marked gone.

Everything here comes from an agent and is checked: a container whose id or name breaks the rules is skipped,
never stored, and a host can only ever write its own rows.
"""
from datetime import datetime, timezone as dt_timezone

from django.db import transaction
from django.utils import timezone

from .. import names
from ..jobs.kinds import clean_config
from ..models import Container, Host
from . import observed

STATES = {"created", "running", "paused", "restarting", "removing", "exited", "dead"}


def _created(value):
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt_timezone.utc)


def clean_container(item):
    """The fields of one container report, or None when it breaks a rule."""
    if not isinstance(item, dict):
        return None
    engine_id, name = item.get("id"), item.get("name")
    if not names.ENGINE_ID.is_valid(engine_id) or not isinstance(name, str) or not name or len(name) > 255:
        return None
    config = item.get("config") if isinstance(item.get("config"), dict) else {}
    labels = item.get("labels") if isinstance(item.get("labels"), dict) else {}
    state = item.get("state") if item.get("state") in STATES else ""
    image_id = item.get("image_id") if names.IMAGE_ID.is_valid(item.get("image_id")) else ""
    return engine_id, {
        "name": name, "image": str(item.get("image") or "")[:255], "image_id": image_id,
        "facts": clean_facts(item.get("facts")),
        "command": str(item.get("command") or "")[:4000], "state": state,
        "labels": {str(k)[:255]: str(v)[:4096] for k, v in list(labels.items())[:200]},
        "tty": bool(item.get("tty")), "created": _created(item.get("created")),
        "config": clean_config(config) if config else {},
    }


def clean_facts(facts):
    facts = facts if isinstance(facts, dict) else {}
    out = {}
    if isinstance(facts.get("rw_bytes"), int) and not isinstance(facts.get("rw_bytes"), bool):
        out["rw_bytes"] = max(0, facts["rw_bytes"])
    if isinstance(facts.get("rw_problem"), str):
        out["rw_problem"] = facts["rw_problem"][:500]
    if isinstance(facts.get("outside_peers"), list):
        out["outside_peers"] = [str(p)[:120] for p in facts["outside_peers"][:20]]
    return out


def apply_full(host, report):
    """A full listing from the agent: upsert every container, mark the missing ones gone; returns counts."""
    now = timezone.now()
    items = report.get("containers") if isinstance(report.get("containers"), list) else []
    existing = {c.engine_id: c for c in Container.objects.filter(host=host)}
    seen, added, changed = set(), 0, 0
    for item in items[:20000]:
        cleaned = clean_container(item)
        if cleaned is None:
            continue
        engine_id, fields = cleaned
        seen.add(engine_id)
        row = existing.get(engine_id)
        if row is None or row.gone_at or any(getattr(row, k) != v for k, v in fields.items()):
            _upsert(host, engine_id, fields, now)
            added += row is None
            changed += row is not None
    gone = [c.pk for eid, c in existing.items() if eid not in seen and c.gone_at is None]
    if gone:
        Container.objects.filter(pk__in=gone).update(gone_at=now, state="gone")
    Container.objects.filter(host=host, engine_id__in=seen).update(last_synced=now)
    observed.sync_checkpoints(host, report.get("checkpoints"))
    observed.settle_jobs(host, report)
    running = Container.objects.present().filter(host=host, state="running").count()
    images = [{"id": i["id"], "tags": [t for t in i.get("tags", []) if isinstance(t, str)][:20]}
              for i in (report.get("images") or [])[:5000]
              if isinstance(i, dict) and names.IMAGE_ID.is_valid(i.get("id"))]
    Host.all_objects.filter(pk=host.pk).update(containers_running=running, images=images)
    return {"containers": len(seen), "added": added, "changed": changed, "gone": len(gone), "running": running}


def apply_one(host, engine_id, item):
    """One container after an engine event: present (its fields) or gone."""
    now = timezone.now()
    if not names.ENGINE_ID.is_valid(engine_id):
        return None
    if not item or item.get("gone"):
        Container.objects.filter(host=host, engine_id=engine_id, gone_at__isnull=True).update(
            gone_at=now, state="gone")
        row = None
    else:
        cleaned = clean_container({**item, "id": engine_id})
        if cleaned is None:
            return None
        row = _upsert(host, engine_id, cleaned[1], now)
    running = Container.objects.present().filter(host=host, state="running").count()
    Host.all_objects.filter(pk=host.pk).update(containers_running=running)
    return row


def _upsert(host, engine_id, fields, now):
    with transaction.atomic():
        row, _ = Container.objects.update_or_create(
            host=host, engine_id=engine_id, defaults={**fields, "last_synced": now, "gone_at": None}
        )
    return row
