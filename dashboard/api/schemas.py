"""What the API accepts. Each field has a type and a range; anything else in a body is refused (400 naming it)."""
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt

class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class JobIn(Strict):
    kind: Literal["checkpoint", "restore", "delete_checkpoint", "export", "clone", "migrate", "sync"]
    host: str = Field(max_length=63)
    container: str | None = Field(None, max_length=255)
    checkpoint: str | None = Field(None, max_length=128)
    name: str | None = Field(None, max_length=200)
    to: str | None = Field(None, max_length=63)
    leave_running: StrictBool = False
    keep_source: StrictBool = False


class HostIn(Strict):
    name: str = Field(max_length=63)
    minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)


class TokenIn(Strict):
    minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)


class ApiTokenIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    scope: Literal["read", "operate"] = "read"
    days: StrictInt | None = Field(None, ge=1, le=3650, description="days it works (at most CRYO_API_TOKEN_MAX_DAYS)")


class ScheduleIn(Strict):
    selector: Literal["container", "label", "fleet"] = "container"
    host: str | None = Field(None, max_length=63)
    container: str | None = Field(None, max_length=255)
    label: str | None = Field(None, max_length=255)
    cron: str | None = Field(None, max_length=120)
    interval_seconds: int | None = Field(None, ge=1, le=366 * 86400)
    leave_running: StrictBool = True
    paused: StrictBool = False


class ScheduleEditIn(Strict):
    cron: str | None = Field(None, max_length=120)
    interval_seconds: int | None = Field(None, ge=1, le=366 * 86400)
    leave_running: StrictBool | None = None
    label: str | None = Field(None, max_length=255)


class PinIn(Strict):
    pinned: StrictBool = True
