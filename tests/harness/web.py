"""The dashboard served as in production, for tests that start one of their own (see processes.Dashboard)."""
from .processes import Dashboard as WebServer

__all__ = ["WebServer"]
