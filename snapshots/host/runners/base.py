"""The contract of a host-side runner, and what a runner is given to work with.

A runner does one kind of job's work on this host, one step at a time:

    class SomethingRunner(Runner):
        kind = "something"
        steps = ("run",)

        def run(self, step, order, ctx) -> dict: ...

- `order` is the work order from the dashboard (snapshots.jobs.kinds): names and ids only. Every name in it is
  validated again here (ctx.container_id(), ctx.checkpoint_name()) before it reaches a path or the engine.
- The runner returns the step's result (plain data). A CryoError it raises ends the step as failed with the
  error's message (its `result` attribute, if any, goes with it); anything else is reported as an internal error.
- `ctx.phase(name)` times a phase and tells the dashboard when it starts and ends.
- `ctx.hand_off(result)` ends the step early (only where the kind allows it): the dashboard moves the job on
  while this runner goes on (e.g. writing an archive the next host already reads); run() then returns HANDED_OFF.
- The runner never decides what the job does next: the dashboard does, from the result.
"""
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager

from ... import names
from ...errors import CryoError

HANDED_OFF = object()
HANDOFF_PATIENCE = 60  # seconds


class StepFailed(CryoError):
    """A failure that carries facts for the dashboard (e.g. {"checkpoint_missing": True})."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result or {}


class Timer:
    seconds = None


class StepContext:
    def __init__(self, *, agent, order, engine):
        self.agent = agent
        self.client = agent.client
        self.order = order
        self.engine = engine
        self.job_id = order["job"]
        self.step = order["step"]
        self.handed_off = False

    # -- validated names ---------------------------------------------------------------------------
    def container_id(self):
        container = self.order.get("container") or {}
        return names.ENGINE_ID.check(container.get("id"))

    def container_name(self):
        return str((self.order.get("container") or {}).get("name") or "")[:255]

    def checkpoint_name(self):
        return names.CHECKPOINT.check(self.order.get("checkpoint"))

    def param(self, key, default=None):
        return (self.order.get("params") or {}).get(key, default)

    @property
    def engine_root(self):
        return self.agent.engine_root(self.engine)

    # -- reporting ---------------------------------------------------------------------------------
    def _report_phase(self, name, seconds=None):
        if self.handed_off:
            return  # the job moved on; this host's remaining work is not a phase of the next step
        self.client.post(f"/jobs/{self.job_id}/phase", {"agent_id": self.agent.agent_id, "step": self.step,
                                                         "name": name, "seconds": seconds})

    @contextmanager
    def phase(self, name):
        """Time a phase; the yielded timer holds its seconds once the block is over."""
        self._report_phase(name)
        timer = Timer()
        started = time.monotonic()
        try:
            yield timer
        finally:
            timer.seconds = round(time.monotonic() - started, 3)
            try:
                self._report_phase(name, timer.seconds)
            except CryoError:
                pass  # timing is informative; the outcome report is what must arrive

    def hand_off(self, result):
        """Hand the job on; a dashboard that does not take it within HANDOFF_PATIENCE raises, so that a runner
        holding a stopped service (a migration's source) can bring it back instead of waiting."""
        self.agent.report(self.job_id, "handoff", {"agent_id": self.agent.agent_id, "step": self.step,
                                                    "result": result}, give_up_after=HANDOFF_PATIENCE)
        self.handed_off = True
        return HANDED_OFF


class Runner(ABC):
    kind = ""
    steps = ("run",)

    @abstractmethod
    def run(self, step, order, ctx):
        """Do this step's work on this host; return its result (or HANDED_OFF after ctx.hand_off)."""
