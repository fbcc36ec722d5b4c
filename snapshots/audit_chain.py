"""The audit trail as a hash chain: every row carries a SHA-256 over its content, its position and the hash of the
row before it, so a row edited, deleted or slipped in afterwards breaks the chain where it happened.

Appends are serialized: the single AuditChainHead row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite's
write lock, taken at BEGIN IMMEDIATE, does the same) until the transaction that appends commits, so two writers
can never link to the same predecessor. A transaction that rolls back takes its links with it, head included.

The chain shows tampering by anyone who does not recompute every later hash; against someone who can rewrite the
whole table, stream the rows somewhere they cannot reach (snapshots.audit_stream) and compare.
"""
import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import timezone as dt_timezone

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq", "at", "actor_id", "actor_name", "action", "outcome", "host_name", "target_host_name", "container_name",
    "checkpoint_name", "job_id", "source", "request_id", "details",
)


# -- what is hashed --------------------------------------------------------------------------------------------
def _clean_text(value):
    # PostgreSQL refuses NUL in text and JSON; a name sent by an attacker must not make the audit row fail.
    return value.replace("\x00", "\ufffd")


def _clean_json(value):
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {_clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def _canonical_numbers(value):
    # PostgreSQL's jsonb gives 1e16 back as 10000000000000000: compare numbers by value, not by spelling.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical_numbers(v) for v in value]
    return value


def normalize(event):
    """Bring a new row into the form the database gives back, so the hash computed now verifies later:
    text cut to its column's length, times in UTC, details as plain JSON values."""
    for field in event._meta.concrete_fields:
        if isinstance(field, models.CharField) and field.name not in ("prev_hash", "row_hash"):
            text = _clean_text(str(getattr(event, field.attname) or ""))
            if len(text) > field.max_length:
                text = text[: field.max_length - 1] + "…"
            setattr(event, field.attname, text)
    at = event.at or timezone.now()
    if timezone.is_naive(at):
        at = timezone.make_aware(at, dt_timezone.utc)
    event.at = at.astimezone(dt_timezone.utc)
    event.job_id = uuid.UUID(str(event.job_id)) if event.job_id else None
    event.details = _clean_json(json.loads(json.dumps(event.details or {}, cls=DjangoJSONEncoder)))


def canonical(event):
    data = {name: getattr(event, name) for name in HASHED_FIELDS}
    data["at"] = event.at.astimezone(dt_timezone.utc).isoformat(timespec="microseconds")
    data["job_id"] = str(event.job_id) if event.job_id else None
    data["details"] = _canonical_numbers(event.details)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(prev_hash, event):
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(event)).hexdigest()


# -- appending -------------------------------------------------------------------------------------------------
def _locked_head(using):
    from .models import AuditChainHead, AuditEvent

    heads = AuditChainHead.objects.using(using).select_for_update()
    head = heads.filter(pk=1).first()
    if head is not None:
        return head
    # First append (or first after the tables were emptied): start from the last row there is.
    last = AuditEvent.objects.using(using).order_by("-seq").values_list("seq", "row_hash").first()
    seq, row_hash = last or (0, GENESIS)
    try:
        with transaction.atomic(using=using):
            return AuditChainHead.objects.using(using).create(pk=1, seq=seq, row_hash=row_hash)
    except IntegrityError:  # another writer created it first; wait for its lock
        return heads.get(pk=1)


def seal(events, using="default"):
    """Give new rows their place in the chain. Call inside the transaction that inserts them."""
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError("audit rows are sealed inside the transaction that inserts them")
    head = _locked_head(using)
    for event in events:
        normalize(event)
        event.seq = head.seq + 1
        event.prev_hash = head.row_hash
        event.row_hash = link_hash(event.prev_hash, event)
        head.seq, head.row_hash = event.seq, event.row_hash
    head.save(using=using, update_fields=["seq", "row_hash"])


# -- verifying -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainBreak:
    kind: str  # "edited", "deleted" or "inserted"
    seq: int | None
    pk: int | None
    message: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self):
        return self.first_break is None

    def describe(self):
        if self.ok:
            return f"audit chain intact: {self.checked} rows, head seq {self.head_seq}, hash {self.head_hash[:16]}"
        where = f"row seq {self.first_break.seq}" if self.first_break.seq is not None else "the chain's end"
        if self.first_break.pk is not None:
            where += f" (id {self.first_break.pk})"
        return f"audit chain broken at {where}: {self.first_break.kind}: {self.first_break.message}"


def _break(kind, row, message):
    return ChainBreak(kind, getattr(row, "seq", None), getattr(row, "pk", None), message)


def verify_chain(using="default", chunk_size=2000):
    """Walk the chain from its first row; report the first row that was edited, deleted or inserted."""
    from .models import AuditChainHead, AuditEvent

    head = AuditChainHead.objects.using(using).filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.row_hash) if head else (0, GENESIS)
    rows = AuditEvent.objects.using(using).filter(seq__lte=head_seq).order_by("seq").iterator(chunk_size=chunk_size)
    report = _walk(rows, head_seq, head_hash)
    if report.first_break is None:
        # Rows past the head were never appended through the chain (or the head was cut back).
        now = AuditChainHead.objects.using(using).filter(pk=1).values_list("seq", flat=True).first() or 0
        extra = AuditEvent.objects.using(using).filter(seq__gt=max(now, head_seq)).order_by("seq").first()
        if extra is not None:
            report = ChainReport(report.checked, head_seq, head_hash, _break(
                "inserted", extra, f"it lies beyond the chain's head (seq {max(now, head_seq)})"))
        elif head is None and report.checked == 0 and AuditEvent.objects.using(using).exists():
            report = ChainReport(0, 0, GENESIS, ChainBreak("deleted", None, None, "the chain's head row is missing"))
    return report


def _walk(rows, head_seq, head_hash):
    expected_prev, expected_seq, checked, previous = GENESIS, 1, 0, None
    for row in rows:
        if link_hash(row.prev_hash, row) != row.row_hash:
            return ChainReport(checked, head_seq, head_hash, _break(
                "edited", row, "its content no longer matches its hash"))
        if row.prev_hash != expected_prev or row.seq != expected_seq:
            if row.seq > expected_seq:
                missing = f"seq {expected_seq}" if row.seq == expected_seq + 1 else f"seq {expected_seq}-{row.seq - 1}"
                return ChainReport(checked, head_seq, head_hash, _break(
                    "deleted", row, f"the row(s) before it ({missing}) are gone"))
            if row.seq < expected_seq:
                return ChainReport(checked, head_seq, head_hash, _break(
                    "inserted", row, f"its position seq {row.seq} is not after seq {expected_seq - 1}"))
            # The row before it hashes correctly but is not the one this row was linked to.
            return ChainReport(checked, head_seq, head_hash, _break(
                "edited" if previous is not None else "inserted", previous or row,
                "it was replaced or re-hashed: the next row links to another hash"))
        expected_prev, expected_seq, previous = row.row_hash, row.seq + 1, row
        checked += 1
    if expected_seq - 1 < head_seq:
        return ChainReport(checked, head_seq, head_hash, ChainBreak(
            "deleted", expected_seq, None, f"the last row(s) seq {expected_seq}-{head_seq} are gone"))
    if expected_prev != head_hash:
        return ChainReport(checked, head_seq, head_hash, _break(
            "edited", previous, "the last row is not the one the chain's head links to"))
    return ChainReport(checked, head_seq, head_hash, None)
