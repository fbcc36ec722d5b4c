"""A real control process of a test's own (see processes.Control), e.g. with other notification settings."""
from .processes import Control as ControlWorker

__all__ = ["ControlWorker"]
