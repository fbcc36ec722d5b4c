"""Audit exports that stream: rows go from the database cursor to the client in chunks, memory stays flat."""
import csv
import json

from django.http import StreamingHttpResponse
from django.utils import timezone

from .streaming import streamed

COLUMNS = [
    "at", "actor_name", "action", "outcome", "host_name", "target_host_name", "container_name", "checkpoint_name",
    "job_id", "source", "request_id", "details",
]
CHUNK_ROWS = 2000


class _Echo:
    """A file-like object whose write() hands the text back, for csv.writer."""

    def write(self, value):
        return value


def _rows(queryset):
    for row in queryset.values_list(*COLUMNS).iterator(chunk_size=CHUNK_ROWS):
        at, *middle, job_id, source, request_id, details = row
        yield [at.isoformat(), *middle, str(job_id) if job_id else "", source, request_id, details]


def _batched(lines, size=500):
    batch = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """Text a spreadsheet would run as a formula (a container named "=cmd|..." say) is quoted with a '."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _csv(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for at, *rest, details in _rows(queryset):
        yield writer.writerow([_cell(v) for v in (at, *rest, json.dumps(details, sort_keys=True) if details else "")])


def _json(queryset):
    yield "[\n"
    first = True
    for row in _rows(queryset):
        yield ("" if first else ",\n") + json.dumps(dict(zip(COLUMNS, row, strict=True)), default=str)
        first = False
    yield "\n]\n"


def _attachment(request, lines, content_type, extension):
    response = StreamingHttpResponse(streamed(request, _batched(lines)), content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="cryo-audit-{stamp}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response


def audit_csv(request, queryset):
    return _attachment(request, _csv(queryset), "text/csv; charset=utf-8", "csv")


def audit_json(request, queryset):
    return _attachment(request, _json(queryset), "application/json", "json")
