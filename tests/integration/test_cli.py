"""Otto drives Cryo from a shell: the CLI goes through the same services and waits for real jobs."""
import json
import subprocess
import sys

import pytest

from snapshots.models import AuditEvent, Job

from ..harness.workers import ROOT, child_env

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def cryo(*args, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "cryo", *args], capture_output=True, text=True,
                          env=child_env(), timeout=timeout, cwd=ROOT)


def test_checkpoint_waits_for_the_job_and_exits_zero_with_a_summary(people, host_a, counter_a):
    _c, row = counter_a
    out = cryo("checkpoint", "test-a", row.name, "--name", "cli-1", "--leave-running", "--as", "otto")
    assert out.returncode == 0, out.stderr
    assert "queued" in out.stdout and "succeeded" in out.stdout
    assert f"Checkpoint cli-1 of {row.name} created in" in out.stdout
    listing = cryo("checkpoints", "test-a", row.engine_id[:12], "--json")
    assert [c["name"] for c in json.loads(listing.stdout)] == ["cli-1"]
    event = AuditEvent.objects.filter(action="checkpoint", outcome="requested").get()
    assert event.actor_name == "otto" and event.source.startswith("cli:")


def test_a_failed_operation_exits_non_zero_with_the_reason(people, host_a, counter_a):
    _c, row = counter_a
    assert cryo("checkpoint", "test-a", row.name, "--name", "cli-2", "--leave-running", "--as", "otto").returncode == 0
    out = cryo("restore", "test-a", row.name, "cli-2", "--as", "otto")
    assert out.returncode == 1
    assert "is running; stop it before restoring it in place" in out.stderr


def test_no_wait_prints_the_job_id_and_jobs_lists_it_as_json(people, host_a, counter_a):
    _c, row = counter_a
    out = cryo("checkpoint", "test-a", row.name, "--leave-running", "--no-wait", "--as", "ada")
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip()
    assert Job.objects.filter(pk=job_id, requested_by_name="ada").exists()
    listed = json.loads(cryo("jobs", "--json").stdout)
    assert job_id in [j["id"] for j in listed]


def test_acting_as_nobody_is_refused_before_anything_happens(people, host_a, counter_a):
    _c, row = counter_a
    out = cryo("checkpoint", "test-a", row.name, "--as", "nobody")
    assert out.returncode == 1 and "no active Cryo user named 'nobody'" in out.stderr
    assert not Job.objects.exists()


def test_a_viewer_is_denied_and_the_attempt_is_audited(people, host_a, counter_a):
    _c, row = counter_a
    out = cryo("checkpoint", "test-a", row.name, "--as", "vic")
    assert out.returncode == 1 and "vic may not checkpoint on host test-a" in out.stderr
    assert AuditEvent.objects.filter(actor_name="vic", outcome="denied", action="checkpoint").count() == 1
    assert not Job.objects.exists()


def test_hosts_and_containers_show_the_inventory(people, host_a, counter_a):
    _c, row = counter_a
    hosts = {h["name"]: h for h in json.loads(cryo("hosts", "--json").stdout)}
    assert (hosts["test-a"]["status"], hosts["test-a"]["experimental"], hosts["test-a"]["criu_ok"]) == (
        "online", True, True)
    assert hosts["test-a"]["docker_version"].startswith("20.10") and hosts["test-a"]["queue"] == "cryo.host.test-a"
    containers = cryo("containers", "--host", "test-a")
    assert row.name in containers.stdout and "running" in containers.stdout


def test_an_api_token_is_printed_once_and_works_for_its_owner(people, host_a):
    from snapshots.models import ApiToken

    out = cryo("api-token", "--name", "ci", "--as", "otto")
    assert out.returncode == 0 and out.stdout.strip().startswith("cryo_")
    assert ApiToken.authenticate(out.stdout.strip()) == people.otto
    assert out.stdout.strip() not in ApiToken.objects.get().token_hash
