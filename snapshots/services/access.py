"""Who may do what. Roles: Admin (everything), Operator (act on hosts granted to their team), Viewer (read).

Admins are superusers or members of the group named ADMIN_GROUP. A team is a Django group; an admin grants
a team a host by adding the group to the host's operator groups. Everyone else who can sign in is a Viewer.

With CRYO_TEAM_SCOPED_VISIBILITY, people other than admins see only the hosts granted to their teams (and their
containers, checkpoints and jobs); without it, everyone signed in sees every host. Either way a container's command
line and environment are shown only to those who may operate it.
"""
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from ..errors import AccessDenied
from . import audit

ADMIN_GROUP = "cryo-admins"


def is_admin(user):
    if user is None or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_cryo_is_admin", None)
    if cached is None:
        cached = user.groups.filter(name=ADMIN_GROUP).exists()
        user._cryo_is_admin = cached
    return cached


def can_view(user):
    return user is not None and user.is_active and user.is_authenticated


def operable_host_ids(user):
    """Ids of the hosts the user may operate (None meaning all)."""
    if is_admin(user):
        return None
    if not can_view(user):
        return set()
    cached = getattr(user, "_cryo_hosts", None)
    if cached is None:
        from ..models import Host

        cached = set(Host.objects.filter(operator_groups__user=user).values_list("id", flat=True))
        user._cryo_hosts = cached
    return cached


def can_operate(user, host):
    ids = operable_host_ids(user)
    return ids is None or host.id in ids


def visible_host_ids(user):
    """Ids of the hosts the user may see (None meaning all)."""
    if not settings.CRYO_TEAM_SCOPED_VISIBILITY:
        return None if can_view(user) else set()
    return operable_host_ids(user)


def can_see(user, host):
    ids = visible_host_ids(user)
    return ids is None or host.id in ids


def visible(user, queryset, *fields):
    """The rows of `queryset` whose host (through any of `fields`, e.g. "host", "target_host") the user may see."""
    ids = visible_host_ids(user)
    if ids is None:
        return queryset
    match = Q(pk__in=[])
    for name in fields or ("host",):
        match |= Q(**{f"{name}__in": ids})
    return queryset.filter(match)


def visible_plans(user, queryset):
    """Schedules or retention policies the user may see: those of a host (or its container) in sight, and the
    fleet-wide ones."""
    ids = visible_host_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(Q(selector="fleet") | Q(container__host__in=ids) | Q(host__in=ids))


def visible_runs(user, queryset):
    """A schedule's runs the user may see: those on containers of hosts in sight, and runs that took no container."""
    ids = visible_host_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(Q(container__host__in=ids) | Q(container__isnull=True, container_name=""))


def role_name(user):
    if is_admin(user):
        return "Admin"
    if operable_host_ids(user):
        return "Operator"
    return "Viewer"


def deny(user, action, origin, *, host=None, container_name="", checkpoint_name="", target_host=None, why=""):
    """Audit a refused attempt and raise AccessDenied."""
    verb = action.replace("_", " ")
    message = why or f"{audit.actor_name(user)} may not {verb} on host {getattr(host, 'name', host)}"
    with transaction.atomic():
        audit.record(
            actor=user, action=action, outcome="denied", origin=origin, host=host, container_name=container_name,
            checkpoint_name=checkpoint_name, target_host=target_host, details={"reason": message},
        )
    raise AccessDenied(message)


def require_operate(user, action, origin, host, **where):
    if not can_operate(user, host):
        deny(user, action, origin, host=host, **where)


def require_admin(user, action, origin, host=None, **where):
    if not is_admin(user):
        verb = action.replace(".", " ").replace("_", " ")
        deny(user, action, origin, host=host, why=f"only an admin may {verb}", **where)
