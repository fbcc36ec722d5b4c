"""One runner per job kind. A runner only does the work; snapshots.lifecycle owns everything around it."""
from . import checkpoint, clone, delete_checkpoint, export, restore, sync

_RUNNERS = {
    "checkpoint": checkpoint,
    "restore": restore,
    "delete_checkpoint": delete_checkpoint,
    "sync": sync,
    "export": export,
    "clone": clone,
    "migrate": clone,
}


def register(kind, module):
    _RUNNERS[kind] = module


def get_runner(kind):
    return _RUNNERS[kind]
