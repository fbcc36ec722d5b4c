"""Pagination for tables. Long logs (jobs, audit) page by key (time, id): constant time at any depth, no COUNT."""
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.paginator import Paginator

PAGE_SIZE = 50


@dataclass
class KeysetPage:
    rows: list
    newer: str = ""  # cursor of the page before (newer rows), "" on the first page
    older: str = ""  # cursor of the page after (older rows), "" on the last page
    extra: dict = field(default_factory=dict)


def _cursor(row, time_field):
    return f"{getattr(row, time_field).isoformat()}~{row.pk}"


def _parse(cursor, pk_type):
    try:
        stamp, pk = cursor.rsplit("~", 1)
        return datetime.fromisoformat(stamp), pk_type(pk)
    except (ValueError, TypeError, AttributeError):
        return None


def keyset_page(qs, *, time_field, before="", after="", pk_type=int, size=PAGE_SIZE):
    """Newest first. `before` pages towards older rows, `after` towards newer ones."""
    older_key = _parse(before, pk_type) if before else None
    newer_key = _parse(after, pk_type) if after and not older_key else None
    if newer_key:
        stamp, pk = newer_key
        chunk = list(
            qs.filter(**{f"{time_field}__gte": stamp})
            .exclude(**{time_field: stamp, "pk__lte": pk})
            .order_by(time_field, "pk")[: size + 1]
        )
        has_newer = len(chunk) > size
        rows = list(reversed(chunk[:size]))
        return KeysetPage(
            rows=rows,
            newer=_cursor(rows[0], time_field) if has_newer and rows else "",
            older=_cursor(rows[-1], time_field) if rows else "",
        )
    if older_key:
        stamp, pk = older_key
        qs = qs.filter(**{f"{time_field}__lte": stamp}).exclude(**{time_field: stamp, "pk__gte": pk})
    chunk = list(qs.order_by(f"-{time_field}", "-pk")[: size + 1])
    rows = chunk[:size]
    return KeysetPage(
        rows=rows,
        newer=_cursor(rows[0], time_field) if older_key and rows else "",
        older=_cursor(rows[-1], time_field) if len(chunk) > size else "",
    )


def uuid_pk(value):
    return uuid.UUID(value)


def numbered_page(qs, number, size=PAGE_SIZE):
    return Paginator(qs, size).get_page(number)
