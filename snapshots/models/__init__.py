from .api_token import ApiToken
from .archive import Archive
from .audit import AuditEvent
from .checkpoint import Checkpoint
from .container import Container
from .credentials import HostCredential, JoinToken
from .host import Host
from .job import Job

__all__ = ["ApiToken", "Archive", "AuditEvent", "Checkpoint", "Container", "Host", "HostCredential", "Job",
           "JoinToken"]
