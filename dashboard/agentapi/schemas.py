"""What agents may send. Unknown fields are refused, so a report cannot smuggle anything the schema does not name."""
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

AgentId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class JoinIn(Strict):
    token: str = Field(max_length=200)


class JoinOut(Schema):
    host: str
    credential: str


class HelloIn(Strict):
    agent_id: str = AgentId
    hostname: str = Field("", max_length=255)
    version: str = Field("", max_length=32)
    replaces: str = Field("", max_length=64)
    facts: dict = Field(default_factory=dict)


class HeartbeatIn(Strict):
    agent_id: str = AgentId
    facts: dict | None = None
    in_flight: list[str] = Field(default_factory=list, max_length=200)


class AgentIn(Strict):
    agent_id: str = AgentId


class InventoryIn(Strict):
    agent_id: str = AgentId
    containers: list[dict] = Field(default_factory=list, max_length=20000)
    images: list[dict] = Field(default_factory=list, max_length=5000)
    checkpoints: dict[str, list[dict]] = Field(default_factory=dict)


class ContainerIn(Strict):
    agent_id: str = AgentId
    container: dict | None = None
    gone: bool = False


class PhaseIn(Strict):
    agent_id: str = AgentId
    step: str = Field(max_length=16)
    name: str = Field(max_length=32, pattern=r"^[a-z][a-z-]*$")
    seconds: float | None = Field(None, ge=0, le=10**6)


class StepIn(Strict):
    agent_id: str = AgentId
    step: str = Field(max_length=16)
    result: dict = Field(default_factory=dict)


class FinishIn(StepIn):
    outcome: Literal["succeeded", "failed"]
    error: str = Field("", max_length=8000)


class JobState(Schema):
    job: str
    state: str
    step: str
    step_host: str | None


class Error(Schema):
    error: str
