"""The one path from "a person asked" to "a job ran": web views, the CLI and the API all call these."""
from .origin import Origin
from .requests import request_checkpoint, request_delete_checkpoint, request_restore, request_sync

__all__ = ["Origin", "request_checkpoint", "request_delete_checkpoint", "request_restore", "request_sync"]
