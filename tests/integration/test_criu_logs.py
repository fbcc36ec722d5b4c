"""CRIU's own error lines are read on the engine's machine right after real failures of a real engine."""
import contextlib
import os
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest

from snapshots import errors
from snapshots.host.engine import Engine
from snapshots.host import criu_logs

from ..harness.engine import IMAGE

pytestmark = [pytest.mark.engine]

# A process holding a deleted 2 MiB file: more than CRIU's ghost-file limit (1 MiB), so every dump fails.
GHOST = "dd if=/dev/zero of=/tmp/big bs=1M count=2 2>/dev/null; exec 3</tmp/big; rm /tmp/big; exec sleep 100000"
# A process holding a file of its own writable layer, which a new container does not have.
HOLDS = "echo hi > /tmp/held; exec 3</tmp/held; exec sleep 100000"


@pytest.fixture
def engine(daemon_a):
    engine = Engine(daemon_a.url)
    made = []

    def create(command):
        name = f"criu-logs-{uuid.uuid4().hex[:8]}"
        api = engine.api
        made.append(api.create_container(IMAGE, ["sh", "-c", command], name=name, labels={"cryo.test": "1"},
                                         host_config=api.create_host_config(network_mode="none"))["Id"])
        return made[-1]

    engine.create = create
    engine.root = engine.info()["DockerRootDir"]
    yield engine
    for container_id in made:
        with contextlib.suppress(errors.EngineError):
            engine.remove(container_id, force=True)
    engine.close()


def checkpoint_dir(engine, container_id, name):
    """Where Docker keeps a container's checkpoint (a restore into another container reads it from there)."""
    return Path(engine.root) / "containers" / container_id / "checkpoints" / name


def test_a_failed_dump_is_explained_in_criu_s_own_words_from_the_log_the_engine_names(engine):
    container = engine.create(GHOST)
    engine.start(container)
    time.sleep(0.5)
    with pytest.raises(errors.CriuFailed) as failed:
        engine.checkpoint_create(container, "ghost", exit=True)
    message = str(failed.value)
    assert "criu-dump.log" in message and "Can't dump ghost file" not in message, "the engine only names the log"

    path, lines = criu_logs.dump_errors(message, container, engine.root)
    assert path == criu_logs.log_paths(message)[0]
    (said,) = criu_logs.key_lines(lines)
    assert re.fullmatch(r"Error \(criu/files-reg\.c:\d+\): Can't dump ghost file /tmp/big of 2097152 size, "
                        r"increase limit", said)
    assert "increase limit" in criu_logs.with_criu_words(message, lines, path)
    assert engine.inspect(container)["State"]["Running"], "a failed dump leaves the container running"


def test_a_failed_restore_s_log_is_caught_although_the_engine_deletes_it(engine):
    source = engine.create(HOLDS)
    engine.start(source)
    time.sleep(0.5)
    engine.checkpoint_create(source, "holds", exit=False)
    target = engine.create("exec sleep 100000")  # same image, but /tmp/held was never written here
    shutil.copytree(checkpoint_dir(engine, source, "holds"), checkpoint_dir(engine, target, "holds"))
    time.sleep(0.3)  # Docker 20.10 refuses a restore started right after the checkpoint ("already exists")

    with criu_logs.RestoreLogCatcher(target, engine.root) as catcher:
        with pytest.raises(errors.CriuFailed) as failed:
            engine.start(target, checkpoint="holds")
    message = str(failed.value)
    named = criu_logs.log_paths(message)
    assert named and named[0].endswith("/work/restore.log")
    assert not os.path.exists(named[0]), "the engine deleted the log before it answered"

    assert catcher.path is not None, "the catcher opened restore.log while the restore ran"
    said = criu_logs.key_lines(catcher.errors())[0]
    assert re.fullmatch(r"1: Error \(criu/files-reg\.c:\d+\): Can't open file tmp/held on restore: No such file or "
                        r"directory", said)
