"""The one path from "a person asked" to "a job ran": web views, the CLI and the API all call these."""
from .hosts import drain_host, enable_host, remove_host
from .origin import Origin
from .preflight import migration_preflight
from .requests import (
    request_checkpoint,
    request_clone,
    request_delete_checkpoint,
    request_export,
    request_migrate,
    request_restore,
    request_sync,
)

__all__ = [
    "Origin",
    "drain_host",
    "enable_host",
    "migration_preflight",
    "remove_host",
    "request_checkpoint",
    "request_clone",
    "request_delete_checkpoint",
    "request_export",
    "request_migrate",
    "request_restore",
    "request_sync",
]
