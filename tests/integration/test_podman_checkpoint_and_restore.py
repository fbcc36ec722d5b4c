"""Otto checkpoints and restores real containers on a real Podman host, through its agent and the job pipeline."""
import hashlib
import tarfile

import pytest
import zstandard

from snapshots.host import paths
from snapshots.models import Archive, Checkpoint, Container, Host, Job

from ..conftest import synced_container
from ..harness import ask
from ..harness.engine import counter_log, wait_for_ticks
from ..harness.jobs import succeeded, wait_for_job
from ..harness.processes import wait_until

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def named_checkpoints(service, container_id):
    """The checkpoints the Podman host keeps for a container, read from its store as the agent keeps them."""
    return paths.checkpoint_names(service.root_dir / "cryo", container_id)


def test_the_podman_host_reports_its_engine_and_is_ready(pod_host_a):
    host = Host.objects.get(pk=pod_host_a.pk)
    assert host.engine_kind == "podman" and host.docker_version.split(".")[0] in ("4", "5")
    assert host.refusal() is None and host.status == "online"
    assert host.docker_root_dir.endswith("/cryo") and host.criu_ok


def test_a_checkpoint_with_exit_then_restore_continues_the_count_with_memory_intact(people, pod_host_a,
                                                                                  pod_counter_a, podman_a, origin):
    engine_container, row = pod_counter_a
    seed = wait_for_ticks(engine_container, 5).starts[0][0]
    job = succeeded(ask.checkpoint(people.otto, pod_host_a.name, row.name, name="frozen-1", origin=origin))
    engine_container.reload()
    assert engine_container.status == "exited", "a checkpoint with exit stops the container"
    frozen_at = counter_log(engine_container).last_tick
    checkpoint = Checkpoint.objects.get(container=row, name="frozen-1")
    assert checkpoint.exit and checkpoint.size_bytes > 16 * 1024 * 1024, "16 MiB of memory is in the checkpoint"
    assert checkpoint.engine_facts["engine_kind"] == "podman" and job.result["checkpoint_seconds"] > 0
    assert named_checkpoints(podman_a, engine_container.id) == ["frozen-1"]
    held = checkpoint.contents  # read by the agent from the CRIU images inside Podman's own layout
    assert "error" not in held, held
    assert [p["cmdline"] for p in held["processes"]][:1] == [" ".join(engine_container.attrs["Config"]["Cmd"])]

    restore = succeeded(ask.restore(people.otto, pod_host_a.name, row.name, "frozen-1", origin=origin))
    after = wait_for_ticks(engine_container, frozen_at + 5)
    assert len(after.starts) == 1 and after.seeds == {seed} and after.all_memory_ok
    resumed = [n for n, _s, _ok in after.ticks if n > frozen_at]
    assert resumed[0] == frozen_at + 1, f"the count continues where it was frozen ({frozen_at}), got {resumed[:3]}"
    assert restore.result["restore_seconds"] > 0
    assert named_checkpoints(podman_a, engine_container.id) == ["frozen-1"], "a restore keeps the checkpoint"


def test_a_leave_running_checkpoint_keeps_running_and_a_restore_goes_back_to_that_moment(people, pod_host_a,
                                                                                      pod_counter_a, origin):
    engine_container, row = pod_counter_a
    wait_for_ticks(engine_container, 3)
    succeeded(ask.checkpoint(people.otto, pod_host_a.name, row.name, name="live-1", leave_running=True,
                             origin=origin))
    engine_container.reload()
    assert engine_container.status == "running"
    assert Checkpoint.objects.get(container=row, name="live-1").exit is False
    at_checkpoint = counter_log(engine_container).last_tick
    wait_for_ticks(engine_container, at_checkpoint + 5)
    engine_container.stop(timeout=2)
    synced_container(pod_host_a, engine_container, state="exited")
    stopped_at = counter_log(engine_container).last_tick
    succeeded(ask.restore(people.otto, pod_host_a.name, row.name, "live-1", origin=origin))
    log = wait_for_ticks(engine_container, stopped_at + 3)
    numbers = [n for n, _s, _ok in log.ticks]
    assert len(log.starts) == 1 and log.all_memory_ok
    assert numbers.count(at_checkpoint + 2) == 2 or numbers.count(at_checkpoint + 1) == 2, \
        "the restored process resumes from the checkpoint's moment: a tick number repeats after the stop"


def test_a_restore_in_place_brings_back_the_files_the_container_had_at_the_checkpoint(people, pod_host_a,
                                                                                    pod_counter_a, origin):
    engine_container, row = pod_counter_a
    engine_container.exec_run(["sh", "-c", "echo before > /tmp/state"])
    succeeded(ask.checkpoint(people.otto, pod_host_a.name, row.name, name="with-files", origin=origin))
    engine_container.start()  # a plain start, then a change of the file, then stop again
    engine_container.exec_run(["sh", "-c", "echo after > /tmp/state"])
    engine_container.stop(timeout=2)
    synced_container(pod_host_a, engine_container, state="exited")
    succeeded(ask.restore(people.otto, pod_host_a.name, row.name, "with-files", origin=origin))
    assert engine_container.exec_run(["cat", "/tmp/state"]).output == b"before\n"


def test_deleting_a_checkpoint_removes_it_from_the_host_and_marks_it_deleted(people, pod_host_a, pod_counter_a,
                                                                           podman_a, origin):
    engine_container, row = pod_counter_a
    succeeded(ask.checkpoint(people.otto, pod_host_a.name, row.name, name="gone-soon", leave_running=True,
                             origin=origin))
    assert named_checkpoints(podman_a, engine_container.id) == ["gone-soon"]
    job = succeeded(ask.delete_checkpoint(people.otto, pod_host_a.name, row.name, "gone-soon", origin=origin))
    assert job.result["was_on_engine"] is True
    assert named_checkpoints(podman_a, engine_container.id) == []
    assert Checkpoint.objects.get(container=row, name="gone-soon").status == "deleted"


def test_an_export_puts_podmans_own_checkpoint_archive_in_the_store_with_its_recorded_sha256(
    people, pod_host_a, pod_counter_a, origin
):
    from snapshots import store

    _c, row = pod_counter_a
    succeeded(ask.checkpoint(people.otto, pod_host_a.name, row.name, name="kept", leave_running=True,
                             origin=origin))
    job = succeeded(ask.export(people.otto, pod_host_a.name, row.name, "kept", origin=origin))
    archive = Archive.objects.get(name=job.result["archive"])
    data = open(store.storage().path(archive.name), "rb").read()
    assert hashlib.sha256(data).hexdigest() == archive.sha256 == job.result["sha256"] and len(data) == archive.size
    from snapshots import store_keys
    from snapshots.host import sealed

    assert data.startswith(sealed.MAGIC), "the store holds the archive sealed"
    opened = sealed.Opener(__import__("io").BytesIO(data), store_keys.unwrap(archive), archive.id)
    reader = zstandard.ZstdDecompressor().stream_reader(opened, read_across_frames=True)
    with tarfile.open(fileobj=reader, mode="r|") as tar:
        members = {m.name for m in tar}
    assert {"config.dump", "spec.dump", "checkpoint/inventory.img"} <= members, "Podman's export, as Podman wrote it"
    again = succeeded(ask.export(people.otto, pod_host_a.name, row.name, "kept", origin=origin))
    assert again.result["reused"] is True and again.result["archive"] == archive.name


def test_restoring_a_checkpoint_removed_behind_cryos_back_fails_and_marks_it_missing(people, pod_host_a,
                                                                                   pod_counter_a, podman_a, origin):
    import shutil

    engine_container, row = pod_counter_a
    succeeded(ask.checkpoint(people.otto, pod_host_a.name, row.name, name="vanishing", origin=origin))
    shutil.rmtree(paths.checkpoint_dir(podman_a.root_dir / "cryo", engine_container.id, "vanishing"))
    job = wait_for_job(ask.restore(people.otto, pod_host_a.name, row.name, "vanishing", origin=origin))
    assert job.state == Job.State.FAILED and "no longer exists" in job.error
    assert Checkpoint.objects.get(container=row, name="vanishing").status == "missing"
    engine_container.reload()
    assert engine_container.status == "exited"


def test_the_inventory_follows_podmans_events_and_lists_only_its_own_containers(pod_host_a, podman_a, host_a):
    engine_container = podman_a.run_counter()
    try:
        row = synced_container(pod_host_a, engine_container)
        assert row.image.endswith("cryo-counter:1") and row.state == "running"
        assert not Container.objects.filter(host=host_a, engine_id=engine_container.id).exists()
        engine_container.stop(timeout=2)
        synced_container(pod_host_a, engine_container, state="exited")
    finally:
        engine_container.remove(force=True)
    wait_until(lambda: Container.objects.filter(pk=row.pk, gone_at__isnull=False).exists(), 30,
               "the removed container to be marked gone")


def test_a_podman_agent_runs_with_only_the_dashboards_url_in_its_environment(pod_agent_a, pod_host_a):
    from pathlib import Path

    environ = pod_agent_a.environ_of_running_process()
    assert set(environ) <= {"PATH", "HOME", "LANG", "CRYO_URL"}, environ
    argv = Path(f"/proc/{pod_agent_a.pid}/cmdline").read_bytes().decode().split("\0")
    assert argv[argv.index("--engine") + 1] == "podman" and "--podman-url" in argv
