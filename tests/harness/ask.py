"""Requests as a person types them (host and container names, checkpoint names), resolved the way the API and
the CLI resolve them, then passed to the same actions."""
from snapshots import services
from snapshots.services import resolve


def _container(host, ref):
    return resolve.container(resolve.host(host), ref)


def _checkpoint(host, ref, name):
    return resolve.checkpoint(_container(host, ref), name)


def checkpoint(actor, host, container, **options):
    return services.checkpoint(actor, _container(host, container), **options)


def restore(actor, host, container, checkpoint, **options):
    return services.restore(actor, _checkpoint(host, container, checkpoint), **options)


def delete_checkpoint(actor, host, container, checkpoint, **options):
    return services.delete_checkpoint(actor, resolve.checkpoint(_container(host, container), checkpoint, usable=False),
                                      **options)


def export(actor, host, container, checkpoint, **options):
    return services.export(actor, _checkpoint(host, container, checkpoint), **options)


def clone(actor, host, container, checkpoint, *, to=None, **options):
    return services.clone(actor, _checkpoint(host, container, checkpoint), to=resolve.host(to) if to else None,
                          **options)


def migrate(actor, host, container, *, to, **options):
    return services.migrate(actor, _container(host, container), to=resolve.host(to), **options)


def sync(actor, host, **options):
    return services.sync(actor, resolve.host(host), **options)
