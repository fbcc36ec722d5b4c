"""Small pictures drawn on the server as SVG: no chart library, they work without JavaScript, and they do not lean
on colour alone (failed bars are hatched, series have their own marker shapes, numbers are written on them).
Each picture comes with the table of its numbers."""
from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from snapshots.models import Checkpoint, Job

DAYS = 30
CHECKPOINTS = 60
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 200, 48, 28, 16


# -- data (one query each) ------------------------------------------------------------------------------------
def jobs_per_day(host, days=DAYS):
    """[{day, succeeded, failed}] for each of the last `days` days (viewer's time zone), oldest first."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    counts = (
        Job.objects.order_by().filter(host=host, state__in=Job.TERMINAL_STATES,
                                      created_at__gte=timezone.now() - timedelta(days=days + 1))
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "state").annotate(n=Count("pk"))
    )
    by_day = {first + timedelta(days=i): {"day": first + timedelta(days=i), "succeeded": 0, "failed": 0}
              for i in range(days)}
    for row in counts:
        if row["day"] in by_day:
            by_day[row["day"]][row["state"]] = row["n"]
    return list(by_day.values())


def checkpoint_history(container, limit=CHECKPOINTS):
    """The container's newest checkpoints that were not deleted (as the page lists them), oldest first, with the
    size and the run time of the job that took each."""
    rows = (Checkpoint.objects.filter(container=container).exclude(status=Checkpoint.Status.DELETED)
            .order_by("-created_at", "-id")
            .values("name", "created_at", "size_bytes", "job__duration_ms")[:limit])
    return [{"name": r["name"], "at": r["created_at"], "mib": None if r["size_bytes"] is None
             else round(r["size_bytes"] / 2**20, 1), "seconds": None if r["job__duration_ms"] is None
             else round(r["job__duration_ms"] / 1000, 2)} for r in reversed(rows)]


# -- drawing ------------------------------------------------------------------------------------------------
PATTERNS = mark_safe(
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" class="bar-failed-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/>'
    '</pattern></defs>'
)


def _f(*numbers):
    """Coordinates as text (format_html escapes its arguments to strings, so numbers are formatted first)."""
    return [f"{n:.1f}" for n in numbers]


def _scale(value, top):
    return (HEIGHT - BOTTOM) - (value / top) * (HEIGHT - BOTTOM - TOP) if top else HEIGHT - BOTTOM


def _nice_top(value):
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000, 10**6, 10**7):
        if value <= step:
            return step
    return value


def _axis(top, unit):
    lines = []
    for fraction in (0, 0.5, 1):
        y = _scale(top * fraction, top)
        label = f"{top * fraction:g}{unit}"
        lines.append(format_html('<line x1="{}" x2="{}" y1="{}" y2="{}" class="grid"/>'
                                 '<text x="{}" y="{}" class="axis" text-anchor="end">{}</text>',
                                 LEFT, WIDTH, y, y, LEFT - 6, y + 4, label))
    return mark_safe("".join(lines))


def jobs_svg(days, title):
    top = _nice_top(max((d["succeeded"] + d["failed"] for d in days), default=0))
    slot = (WIDTH - LEFT) / max(len(days), 1)
    bars = []
    for i, d in enumerate(days):
        x = LEFT + i * slot + 1
        w = max(slot - 2, 1)
        ok_y = _scale(d["succeeded"], top)
        bad_y = _scale(d["succeeded"] + d["failed"], top)
        tip = f"{d['day']:%a %d %b}: {d['succeeded']} succeeded, {d['failed']} failed"
        bars.append(format_html(
            '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" class="bar-ok"/>'
            '<rect x="{}" y="{}" width="{}" height="{}" fill="url(#hatch)" class="bar-failed"/>',
            tip, *_f(x, ok_y, w, HEIGHT - BOTTOM - ok_y, x, bad_y, w, ok_y - bad_y)))
        if d["failed"]:
            bars.append(format_html('<text x="{}" y="{}" class="count" text-anchor="middle">{}✕</text>',
                                    *_f(x + w / 2, bad_y - 3), d["failed"]))
        bars.append(mark_safe("</g>"))
    labels = format_html(
        '<text x="{}" y="{}" class="axis">{}</text><text x="{}" y="{}" class="axis" text-anchor="end">'
        '{}</text>', LEFT, HEIGHT - 8, f"{days[0]['day']:%d %b}", WIDTH, HEIGHT - 8,
        f"{days[-1]['day']:%d %b}") if days else ""
    return format_html(
        '<svg viewBox="0 0 {} {}" class="chart" role="img" aria-label="{}">{}{}{}{}</svg>',
        WIDTH, HEIGHT, title, PATTERNS, _axis(top, ""), mark_safe("".join(bars)), labels)


def series_svg(points, key, unit, title, marker):
    """A line over time with a marker on every point ("circle" or "square") and its value as a tooltip."""
    known = [(i, p) for i, p in enumerate(points) if p[key] is not None]
    top = _nice_top(max((p[key] for _i, p in known), default=0))
    step = (WIDTH - LEFT - 12) / max(len(points) - 1, 1)
    xy = [(LEFT + 6 + i * step, _scale(p[key], top), p) for i, p in known]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _p in xy)
    marks = []
    for x, y, p in xy:
        tip = f"{p['name']} ({p['at']:%d %b %H:%M}): {p[key]:g} {unit}"
        shape = (format_html('<circle cx="{}" cy="{}" r="3.5" class="mark"/>', *_f(x, y)) if marker == "circle"
                 else format_html('<rect x="{}" y="{}" width="7" height="7" class="mark"/>', *_f(x - 3.5, y - 3.5)))
        marks.append(format_html("<g><title>{}</title>{}</g>", tip, shape))
    last = format_html('<text x="{}" y="{}" class="count" text-anchor="end">{} {}</text>',
                       *_f(xy[-1][0], xy[-1][1] - 8), f"{xy[-1][2][key]:g}", unit) if xy else ""
    return format_html(
        '<svg viewBox="0 0 {} {}" class="chart" role="img" aria-label="{}">{}<polyline points="{}" class="line"/>'
        '{}{}</svg>', WIDTH, HEIGHT, title, _axis(top, f" {unit}"), path, mark_safe("".join(marks)), last)


def host_pictures(host):
    days = jobs_per_day(host)
    title = f"Jobs per day on {host.name} over the last {len(days)} days: solid bars succeeded, hatched failed"
    return {"days": days, "svg": jobs_svg(days, title), "total": sum(d["succeeded"] + d["failed"] for d in days)}


def container_pictures(container):
    points = checkpoint_history(container)
    return {
        "points": points,
        "size_svg": series_svg(points, "mib", "MiB", f"Checkpoint size of {container.name}, oldest to newest",
                               "circle"),
        "seconds_svg": series_svg(points, "seconds", "s", f"Checkpoint duration of {container.name}, oldest to "
                                  "newest", "square"),
    }

