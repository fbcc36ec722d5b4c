from .api_token import ApiToken
from .archive import Archive
from .audit import AuditChainHead, AuditEvent
from .checkpoint import Checkpoint
from .container import Container
from .credentials import HostCredential, JoinToken
from .host import Host
from .identity import ExternalIdentity
from .job import Job
from .retention import RetentionPolicy
from .schedule import Schedule, ScheduleRun, Selector

__all__ = [
    "ApiToken", "Archive", "AuditChainHead", "AuditEvent", "Checkpoint", "Container", "ExternalIdentity", "Host",
    "HostCredential", "Job", "JoinToken", "RetentionPolicy", "Schedule", "ScheduleRun", "Selector",
]
