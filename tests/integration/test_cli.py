"""Otto drives Cryo from a shell on any machine: `cryo` is a client of the API (CRYO_URL, CRYO_TOKEN) and waits
for real jobs; on the dashboard's machine an admin may also act `--as` someone, audited with the OS user."""
import json
import subprocess
import sys

import pytest

from snapshots.models import ApiToken, AuditEvent, Job

from ..harness.processes import ROOT, dashboard_env

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cryo_as(dashboard):
    """`cryo` run as a person elsewhere would: only the dashboard's URL and their own token in the environment."""

    def run(user, *args, timeout=120):
        _row, token = ApiToken.issue(user, "cli test")
        env = {"PATH": "/usr/bin:/bin", "CRYO_URL": dashboard.url, "CRYO_TOKEN": token, "CRYO_VAR_DIR": "/nowhere"}
        return subprocess.run([sys.executable, "-m", "snapshots.cli", *args], capture_output=True, text=True, env=env,
                              timeout=timeout, cwd="/")
    return run


def local_admin(*args, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "cryo", *args], capture_output=True, text=True,
                          env=dashboard_env(), timeout=timeout, cwd=ROOT)


def test_checkpoint_waits_for_the_job_and_exits_zero_with_a_summary(people, host_a, counter_a, cryo_as):
    _c, row = counter_a
    out = cryo_as(people.otto, "checkpoint", "test-a", row.name, "--name", "cli-1", "--leave-running")
    assert out.returncode == 0, out.stderr
    assert "] job " in out.stdout and "succeeded" in out.stdout
    assert f"Checkpoint cli-1 of {row.name} created in" in out.stdout
    listing = cryo_as(people.vic, "checkpoints", "test-a", row.engine_id[:12], "--json")
    assert [c["name"] for c in json.loads(listing.stdout)] == ["cli-1"]
    event = AuditEvent.objects.filter(action="checkpoint", outcome="requested").get()
    assert event.actor_name == "otto" and event.source == "api:127.0.0.1"


def test_a_failed_operation_exits_non_zero_with_one_line_saying_why(people, host_a, counter_a, cryo_as):
    _c, row = counter_a
    assert cryo_as(people.otto, "checkpoint", "test-a", row.name, "--name", "cli-2", "--leave-running").returncode == 0
    out = cryo_as(people.otto, "restore", "test-a", row.name, "cli-2")
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "is running; stop it before restoring it in place" in out.stderr
    assert "Traceback" not in out.stderr


def test_no_wait_prints_the_job_id_and_jobs_lists_it_as_json(people, host_a, counter_a, cryo_as):
    _c, row = counter_a
    out = cryo_as(people.ada, "checkpoint", "test-a", row.name, "--leave-running", "--no-wait")
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip()
    assert Job.objects.filter(pk=job_id, requested_by_name="ada").exists()
    listed = json.loads(cryo_as(people.vic, "jobs", "--json").stdout)
    assert job_id in [j["id"] for j in listed]


def test_a_wrong_token_or_no_dashboard_is_one_clear_line(people, dashboard):
    env = {"PATH": "/usr/bin:/bin", "CRYO_URL": dashboard.url, "CRYO_TOKEN": "cryo_wrong", "CRYO_VAR_DIR": "/nowhere"}
    out = subprocess.run([sys.executable, "-m", "snapshots.cli", "hosts"], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "a valid API token is required" in out.stderr and "Traceback" not in out.stderr
    env["CRYO_URL"] = "http://127.0.0.1:9"
    out = subprocess.run([sys.executable, "-m", "snapshots.cli", "hosts"], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "cannot reach Cryo at http://127.0.0.1:9" in out.stderr


def test_a_viewer_is_denied_and_the_attempt_is_audited(people, host_a, counter_a, cryo_as):
    _c, row = counter_a
    out = cryo_as(people.vic, "checkpoint", "test-a", row.name)
    assert out.returncode == 1 and "vic may not checkpoint on host test-a" in out.stderr
    assert AuditEvent.objects.filter(actor_name="vic", outcome="denied", action="checkpoint").count() == 1
    assert not Job.objects.exists()


def test_hosts_and_containers_show_the_inventory(people, host_a, counter_a, cryo_as):
    _c, row = counter_a
    hosts = {h["name"]: h for h in json.loads(cryo_as(people.vic, "hosts", "--json").stdout)}
    assert (hosts["test-a"]["status"], hosts["test-a"]["experimental"], hosts["test-a"]["criu_ok"]) == (
        "online", True, True)
    assert hosts["test-a"]["docker_version"].startswith("20.10") and hosts["test-a"]["queue"] == "cryo.host.test-a"
    containers = cryo_as(people.vic, "containers", "--host", "test-a")
    assert row.name in containers.stdout and "running" in containers.stdout


def test_a_local_admin_acts_as_someone_and_is_audited_with_the_os_user(people, host_a, counter_a):
    _c, row = counter_a
    out = local_admin("--as", "otto", "checkpoint", "test-a", row.name, "--name", "local-1", "--leave-running")
    assert out.returncode == 0, out.stderr
    event = AuditEvent.objects.get(action="checkpoint", outcome="requested")
    assert event.actor_name == "otto" and event.source.startswith("cli:")
    out = local_admin("--as", "nobody", "hosts")
    assert out.returncode == 1 and "no active Cryo user named 'nobody'" in out.stderr


def test_an_api_token_is_printed_once_and_works_for_its_owner(people, host_a):
    out = local_admin("--as", "otto", "api-token", "--name", "ci")
    assert out.returncode == 0 and out.stdout.strip().startswith("cryo_")
    assert ApiToken.authenticate(out.stdout.strip()) == people.otto
    assert out.stdout.strip() not in ApiToken.objects.get().token_hash
