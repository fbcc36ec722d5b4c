"""Otto checkpoints, restores and clones real services, not just counters, through Cryo's jobs.

- cryo-redis:1: this machine's redis-server, listening on the container's loopback, holding 20,000
  keys written through its socket. A restore is the same process: Redis' run_id (new at every start)
  is kept, every key reads back with its value, and the server answers on its socket.
- cryo-pingpong:1: a TCP server and a client inside one container on one connection the client never
  makes again. After a restore the same connection goes on: same connection id and client port, the
  sequence continues, and the server has still accepted exactly one connection.
"""
import contextlib

import pytest

from snapshots.host import connections
from snapshots.models import Checkpoint

from ..conftest import synced_container
from ..harness.engine import (
    fill_redis,
    pingpong_log,
    redis_cli,
    redis_info,
    redis_intact,
    wait_answers,
    wait_for_pingpong,
)
from ..harness import ask
from ..harness.jobs import succeeded

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

KEYS = 20_000


@contextlib.contextmanager
def running(host, engine_container):
    try:
        yield engine_container, synced_container(host, engine_container)
    finally:
        with contextlib.suppress(Exception):
            engine_container.remove(force=True)


@pytest.fixture
def redis_a(daemon_a, host_a):
    with running(host_a, daemon_a.run_redis()) as (container, row):
        assert fill_redis(container, 1, KEYS) == KEYS
        yield container, row


@pytest.fixture
def pingpong_a(daemon_a, host_a):
    with running(host_a, daemon_a.run_pingpong()) as pair:
        yield pair


def answers(container):
    wait_answers(lambda: redis_cli(container, "PING") == "PONG", f"redis in {container.name}")
    return True


def test_a_redis_server_checkpointed_with_exit_and_restored_in_place_keeps_every_key_and_answers(
    people, host_a, redis_a, origin
):
    container, row = redis_a
    run_id = redis_info(container)["run_id"]

    checkpoint = succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="with-keys",
                                          origin=origin))
    container.reload()
    assert container.status == "exited"
    assert Checkpoint.objects.get(container=row, name="with-keys").size_bytes > 1_000_000

    restore = succeeded(ask.restore(people.otto, host_a.name, row.name, "with-keys", origin=origin))
    assert answers(container)
    assert redis_info(container)["run_id"] == run_id, "the same server process, not a fresh start"
    assert redis_cli(container, "DBSIZE") == str(KEYS)
    assert redis_intact(container, 1, KEYS) == KEYS, "every key reads back with its value"
    assert checkpoint.result["checkpoint_seconds"] > 0 and restore.result["restore_seconds"] > 0


def test_a_redis_server_restored_from_a_leave_running_checkpoint_is_back_at_that_moment(
    people, host_a, redis_a, origin
):
    container, row = redis_a
    run_id = redis_info(container)["run_id"]
    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="live", leave_running=True,
                             origin=origin))
    container.reload()
    assert container.status == "running" and answers(container)
    assert fill_redis(container, KEYS + 1, KEYS + 500) == 500, "the server goes on taking writes"
    container.stop(timeout=5)
    synced_container(host_a, container, state="exited")

    succeeded(ask.restore(people.otto, host_a.name, row.name, "live", origin=origin))
    assert answers(container)
    assert redis_info(container)["run_id"] == run_id
    assert redis_cli(container, "DBSIZE") == str(KEYS), "what was written after the checkpoint is not there"
    assert redis_intact(container, 1, KEYS) == KEYS


def test_a_redis_server_with_an_append_only_file_in_its_own_layer_restores_in_place_and_keeps_writing_it(
    people, host_a, daemon_a, origin
):
    command = ["/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--dir", "/data",
               "--appendonly", "yes"]
    with running(host_a, daemon_a.run_redis(command=command)) as (container, row):
        assert fill_redis(container, 1, 5_000) == 5_000
        run_id = redis_info(container)["run_id"]
        succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="aof", origin=origin))
        succeeded(ask.restore(people.otto, host_a.name, row.name, "aof", origin=origin))
        assert answers(container) and redis_info(container)["run_id"] == run_id
        assert redis_intact(container, 1, 5_000) == 5_000
        size = aof_bytes(container)
        assert fill_redis(container, 5_001, 5_100) == 100
        persistence = redis_cli(container, "INFO", "persistence")
        assert "aof_last_write_status:ok" in persistence
        assert aof_bytes(container) > size, "the restored server goes on appending to the same file"


def aof_bytes(container):
    code, out = container.exec_run(["sh", "-c", "cat /data/appendonlydir/*.incr.aof | wc -c"])
    assert code == 0, out
    return int(out.decode().strip())


def test_a_clone_of_a_redis_server_on_the_same_host_has_every_key_and_answers_beside_the_source(
    people, host_a, redis_a, daemon_a, origin
):
    container, row = redis_a
    run_id = redis_info(container)["run_id"]
    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="base", leave_running=True,
                             origin=origin))
    job = succeeded(ask.clone(people.otto, host_a.name, row.name, "base", name=f"{row.name}-twin",
                              origin=origin))
    twin = daemon_a.client.containers.get(job.result["target_container"])
    try:
        assert answers(twin)
        assert redis_info(twin)["run_id"] == run_id, "the clone is the checkpointed process, not a new server"
        assert redis_intact(twin, 1, KEYS) == KEYS
        fill_redis(twin, KEYS + 1, KEYS + 10)
        assert redis_cli(container, "DBSIZE") == str(KEYS), "the source and its clone are separate servers"
        assert redis_cli(twin, "DBSIZE") == str(KEYS + 10)
    finally:
        twin.remove(force=True)


def test_a_connection_inside_the_container_survives_a_checkpoint_with_exit_and_a_restore_in_place(
    people, host_a, pingpong_a, origin
):
    container, row = pingpong_a
    before = wait_for_pingpong(container, 5)
    assert len(before.connects) == 1 and not before.broken, before
    conn_id, port = before.connects[0]
    container.reload()
    pid = container.attrs["State"]["Pid"]
    assert {(c.local_port, c.remote_port) for c in connections.established(pid)} == {(7000, port), (port, 7000)}
    assert connections.outside_peers(pid) == [], "both ends are inside the container: safe to carry"

    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="connected", origin=origin))
    container.reload()
    assert container.status == "exited"
    frozen_at = pingpong_log(container).last_tick

    succeeded(ask.restore(people.otto, host_a.name, row.name, "connected", origin=origin))
    after = wait_for_pingpong(container, frozen_at + 5)
    assert not after.broken, after.broken
    assert after.connects == [(conn_id, port)], "the client never connected again"
    resumed = [t for t in after.ticks if t[0] > frozen_at]
    assert resumed[0][0] == frozen_at + 1, "the sequence goes on where it was frozen"
    assert {(t[1], t[2], t[3]) for t in resumed} == {(conn_id, port, 1)}, \
        "same connection, and the server has accepted exactly one"
    code, out = container.exec_run(["sh", "-c", "echo ping | nc 127.0.0.1 7000"])
    assert (code, out.decode().strip()) == (0, "pong accepts=2"), "the restored server answers on its socket"


def test_a_connection_restored_from_a_leave_running_checkpoint_goes_on_from_that_moment(
    people, host_a, pingpong_a, origin
):
    container, row = pingpong_a
    conn_id, port = wait_for_pingpong(container, 3).connects[0]
    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="live", leave_running=True,
                             origin=origin))
    at_checkpoint = pingpong_log(container).last_tick
    wait_for_pingpong(container, at_checkpoint + 5)
    container.stop(timeout=5)
    synced_container(host_a, container, state="exited")
    stopped_at = pingpong_log(container).last_tick

    succeeded(ask.restore(people.otto, host_a.name, row.name, "live", origin=origin))
    log = wait_for_pingpong(container, stopped_at + 3)
    assert not log.broken and log.connects == [(conn_id, port)]
    numbers = [t[0] for t in log.ticks]
    back = [(a, b) for a, b in zip(numbers, numbers[1:], strict=False) if b != a + 1]
    assert len(back) == 1 and back[0][0] == stopped_at and back[0][1] <= at_checkpoint + 1, \
        f"the sequence goes on once, from the checkpoint's moment (at most tick {at_checkpoint}): {back}"
    assert {(t[1], t[2], t[3]) for t in log.ticks} == {(conn_id, port, 1)}


def test_a_clone_of_a_container_holding_a_connection_carries_that_connection(
    people, host_a, pingpong_a, daemon_a, origin
):
    container, row = pingpong_a
    conn_id, port = wait_for_pingpong(container, 3).connects[0]
    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="base", leave_running=True,
                             origin=origin))
    at_checkpoint = pingpong_log(container).last_tick
    job = succeeded(ask.clone(people.otto, host_a.name, row.name, "base", name=f"{row.name}-twin",
                              origin=origin))
    twin = daemon_a.client.containers.get(job.result["target_container"])
    try:
        log = wait_for_pingpong(twin, at_checkpoint + 5)
        assert not log.broken and not log.connects, "the twin's client did not connect: it carries the connection"
        assert {(t[1], t[2], t[3]) for t in log.ticks} == {(conn_id, port, 1)}
        assert log.ticks[0][0] <= at_checkpoint + 2
        source = wait_for_pingpong(container, at_checkpoint + 5)
        assert not source.broken, "the source's connection is untouched"
    finally:
        twin.remove(force=True)
