from .api_token import ApiToken
from .audit import AuditChainHead, AuditEvent
from .checkpoint import Checkpoint
from .container import Container
from .enrollment import EnrollmentToken
from .host import Host
from .identity import ExternalIdentity
from .job import Job

__all__ = [
    "ApiToken", "AuditChainHead", "AuditEvent", "Checkpoint", "Container", "EnrollmentToken", "ExternalIdentity",
    "Host", "Job",
]
