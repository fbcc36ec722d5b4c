"""The one path from "a person asked" to "a job ran": web views, the CLI and the API all call these actions,
with objects (the API and the CLI resolve what was typed with snapshots.services.resolve first)."""
from .actions import (
    checkpoint,
    clone,
    delete_checkpoint,
    export,
    migrate,
    pin_checkpoint,
    restore,
    suggest_checkpoint_name,
    sync,
)
from .hosts import (
    add_host,
    drain_host,
    enable_host,
    new_join_token,
    remove_host,
    revoke_credential,
    rotate_credential,
)
from .origin import Origin
from .preflight import migration_preflight

__all__ = [
    "Origin",
    "add_host",
    "checkpoint",
    "clone",
    "delete_checkpoint",
    "drain_host",
    "enable_host",
    "export",
    "migrate",
    "migration_preflight",
    "new_join_token",
    "pin_checkpoint",
    "remove_host",
    "restore",
    "revoke_credential",
    "rotate_credential",
    "suggest_checkpoint_name",
    "sync",
]
