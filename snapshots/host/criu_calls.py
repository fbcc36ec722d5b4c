"""The engine's checkpoint and restore, as every runner calls them: with CRIU's own words in a failure, and past the
engine's restore race.

- A failed dump or restore names only CRIU's log; the job's error should say what CRIU said. A dump's log stays in
  place; a restore's is deleted by containerd a tenth of a second after CRIU gave up, so it is followed while the
  restore runs (criu_logs.RestoreLogCatcher).
- Docker 20.10 often refuses a restore started within about 0.1 s of a checkpoint of the same container ("failed to
  upload checkpoint to containerd: commit failed: content sha256:…: already exists"); nothing was started, so the
  restore is tried again after a short pause.
"""
import logging
import time

from ..errors import CheckpointExists, CriuFailed, EngineError
from . import criu_logs

log = logging.getLogger(__name__)
RACE = "failed to upload checkpoint to containerd"
RACE_RETRIES = 5


def checkpoint(engine, engine_root, container_id, name, *, exit):
    try:
        engine.checkpoint_create(container_id, name, exit=exit)
    except CriuFailed as exc:
        path, lines = criu_logs.dump_errors(exc.engine_message, container_id, engine_root)
        raise CriuFailed(criu_logs.with_criu_words(exc.engine_message, lines, path)) from exc


def restore(engine, engine_root, container_id, name):
    for attempt in range(RACE_RETRIES + 1):
        catcher = criu_logs.RestoreLogCatcher(container_id, engine_root)
        try:
            with catcher:
                engine.start(container_id, checkpoint=name)
            return
        except (CriuFailed, CheckpointExists, EngineError) as exc:
            text = getattr(exc, "engine_message", None) or str(exc)
            if RACE in text and attempt < RACE_RETRIES:
                log.info("restore of %s met the engine's checkpoint race; again (%d)", container_id[:12], attempt + 1)
                time.sleep(0.1 * (attempt + 1))
                continue
            if not isinstance(exc, CriuFailed):
                raise
            raise CriuFailed(criu_logs.with_criu_words(exc.engine_message, catcher.errors(), catcher.path)) from exc
