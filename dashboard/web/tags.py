"""Template helpers of Cryo's pages: `{% load cryo %}`."""
from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.urls import reverse
from django.utils.html import format_html

from snapshots.services import access

register = template.Library()


@register.simple_tag
def when(moment, empty="never"):
    """A time as people read it: relative ("3 minutes ago"), exact local time on hover, ISO for machines."""
    if moment is None:
        return empty
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(), local.strftime("%Y-%m-%d %H:%M:%S %Z"), naturaltime(moment),
    )


@register.filter
def local(moment):
    """Exact time in the viewer's time zone."""
    return "" if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


@register.filter
def seconds(value):
    if value is None:
        return "–"
    if value < 60:
        return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"
    minutes, rest = divmod(int(value), 60)
    return f"{minutes} min {rest} s"


@register.filter
def role_of(user):
    return access.role_name(user)


@register.filter
def operable_by(host, user):
    return access.can_operate(user, host)


@register.simple_tag(takes_context=True)
def sort_header(context, key, label):
    """A column header that sorts the table by `key`, flipping direction when it is already the sort."""
    request = context["request"]
    current = context.get("sort", "name")
    active = current.lstrip("-") == key
    descending = current.startswith("-")
    target = f"-{key}" if active and not descending else key
    query = request.GET.copy()
    query["sort"] = target
    query.pop("page", None)
    arrow = ("▼" if descending else "▲") if active else ""
    state = ("descending" if descending else "ascending") if active else "none"
    return format_html(
        '<th scope="col" aria-sort="{}"><a href="?{}">{} <span aria-hidden="true">{}</span></a></th>',
        state, query.urlencode(), label, arrow,
    )


@register.filter
def result_facts(result):
    """A job's result as (label, value) pairs for people: plain values only, sizes and booleans readable."""
    from django.template.defaultfilters import filesizeformat

    facts = []
    for key, value in (result or {}).items():
        if key == "traceback" or isinstance(value, (dict, list)) or value in (None, ""):
            continue
        label = key.replace("_", " ")
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif key.endswith(("size", "bytes")) and isinstance(value, int):
            value = filesizeformat(value)
        elif key.endswith("seconds") and isinstance(value, (int, float)):
            value = seconds(value)
        facts.append((label.removesuffix(" seconds").removesuffix(" bytes"), value))
    return facts


@register.simple_tag
def name_rule(kind, part="pattern"):
    """A name rule's pattern or length for an input (the same rule the server, the API and the agents apply)."""
    from snapshots import names

    rule = {"checkpoint": names.CHECKPOINT, "container": names.CONTAINER, "host": names.HOST}[kind]
    return rule.pattern if part == "pattern" else rule.max_length


@register.simple_tag
def live_stream():
    """The attributes that open a page's event stream (htmx SSE extension) on the element that carries them."""
    return format_html('hx-ext="sse" sse-connect="{}"', reverse("events"))


@register.simple_tag
def live_trigger():
    """When a live part refreshes: on a pushed event about it (cryo.js triggers cryo:changed); every second while no
    stream is open (cryo.js triggers cryo:poll, so no htmx filter expression needs eval under the CSP); once when a
    stream (re)opens."""
    return "cryo:changed, cryo:resync, cryo:poll"
