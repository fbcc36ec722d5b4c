"""Hosts, their containers and checkpoints; adding hosts and managing their credentials (admins)."""
from snapshots import services
from snapshots.models import Container, Host
from snapshots.serializers import checkpoint_dict, container_dict, contents_dict, host_dict
from snapshots.services import access, resolve

from .api import api, origin
from .schemas import HostIn, PinIn, TokenIn


@api.get("/hosts", url_name="api-hosts")
def hosts(request):
    return [host_dict(h) for h in access.visible(request.user, Host.objects.all(), "pk")]


@api.post("/hosts", url_name="api-host-add")
def add_host(request, payload: HostIn):
    host, token = services.add_host(request.user, payload.name, origin=origin(request), minutes=payload.minutes)
    return {"host": host_dict(host), "join_token": token, "command": services.hosts.join_command(token)}


@api.post("/hosts/{host}/join-token", url_name="api-host-token")
def join_token(request, host: str, payload: TokenIn):
    token = services.new_join_token(request.user, resolve.host(host, request.user), origin=origin(request),
                                    minutes=payload.minutes)
    return {"host": host, "join_token": token, "command": services.hosts.join_command(token)}


def _admin_action(action, change):
    def view(request, host: str):
        found = change(request.user, resolve.host(host, request.user), origin=origin(request))
        return host_dict(Host.all_objects.get(pk=found.pk))

    view.__name__ = f"host_{action}"
    api.post(f"/hosts/{{host}}/{action}", url_name=f"api-host-{action}")(view)


for _action, _change in {"rotate": services.rotate_credential, "revoke": services.revoke_credential,
                         "drain": services.drain_host, "enable": services.enable_host,
                         "remove": services.remove_host}.items():
    _admin_action(_action, _change)


@api.get("/containers", url_name="api-all-containers")
def all_containers(request, host: str | None = None, all: bool = False):
    found = access.visible(request.user, Container.objects.select_related("host").order_by("host__name", "name"))
    if host:
        found = found.filter(host=resolve.host(host, request.user))
    if not all:
        found = found.present()
    operable = access.operable_host_ids(request.user)
    return [container_dict(c, reveal=operable is None or c.host_id in operable) for c in found[:5000]]


@api.get("/hosts/{host}/containers", url_name="api-containers")
def containers(request, host: str, all: bool = False):
    return all_containers(request, host=host, all=all)


@api.get("/hosts/{host}/containers/{container}/checkpoints", url_name="api-checkpoints")
def checkpoints(request, host: str, container: str):
    found = resolve.container(resolve.host(host, request.user), container)
    return [checkpoint_dict(cp) for cp in found.checkpoints.live().prefetch_related("archives")]


@api.get("/hosts/{host}/containers/{container}/checkpoints/{checkpoint}/contents", url_name="api-checkpoint-contents")
def checkpoint_contents(request, host: str, container: str, checkpoint: str):
    found = resolve.checkpoint(resolve.container(resolve.host(host, request.user), container), checkpoint,
                               usable=False)
    return contents_dict(found)


@api.post("/hosts/{host}/containers/{container}/checkpoints/{checkpoint}/pin", url_name="api-checkpoint-pin")
def pin(request, host: str, container: str, checkpoint: str, payload: PinIn):
    found = resolve.checkpoint(resolve.container(resolve.host(host, request.user), container), checkpoint,
                               usable=False)
    services.pin_checkpoint(request.user, found, pinned=payload.pinned, origin=origin(request))
    return checkpoint_dict(found)


@api.get("/hosts/{host}/containers/{container}/preflight", url_name="api-preflight")
def preflight(request, host: str, container: str, to: str | None = None):
    source = resolve.host(host, request.user)
    target = resolve.host(to, request.user) if to else source
    checks = services.migration_preflight(resolve.container(source, container), target)
    return [{"name": c.name, "level": c.level, "message": c.message} for c in checks]
