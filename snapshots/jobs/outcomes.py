"""What the end of a step leads to. Kinds return one of these; only snapshots.jobs.transitions acts on them."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Next:
    """Hand the job to another step (possibly on another host); `params` are merged into the job's params."""

    step: str
    params: dict = field(default_factory=dict)
    phase: str = ""


@dataclass(frozen=True)
class Done:
    result: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    error: str
    result: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RolledBack:
    """A migration that could not finish, whose source runs again: a result of its own, not an exception."""

    error: str
    result: dict = field(default_factory=dict)
