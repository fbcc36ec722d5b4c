"""`manage.py cryo --as` answers through the same API code; `cryo job` finds a job by its id or a unique prefix."""
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from snapshots import services
from snapshots.models import AuditEvent

from .fakes import online_host, running_container

pytestmark = pytest.mark.django_db


def test_a_job_is_shown_by_its_id_or_a_prefix_of_it(people, origin):
    web = running_container(online_host("h1"))
    with mock.patch("snapshots.jobs.outbox.publish"):
        job = services.checkpoint(people.ada, web, name="c1", origin=origin)
    for ref in (str(job.id), str(job.id)[:8]):
        out = StringIO()
        call_command("cryo", "--as", "ada", "job", ref, stdout=out)
        assert str(job.id) in out.getvalue() and "checkpoint" in out.getvalue()
    with pytest.raises(CommandError, match="no job with id 'ffffffff-dead'"):
        call_command("cryo", "--as", "ada", "job", "ffffffff-dead")


def test_a_local_admin_request_is_audited_with_the_os_user(people):
    running_container(people.grant(online_host("h1")))
    with mock.patch("snapshots.jobs.outbox.publish"):
        call_command("cryo", "--as", "otto", "checkpoint", "h1", "web", "--name", "c9", "--no-wait", stdout=StringIO())
    event = AuditEvent.objects.get(action="checkpoint")
    assert event.actor_name == "otto" and event.source.startswith("cli:")


def test_the_retired_worker_command_says_what_to_do_instead():
    with pytest.raises(CommandError, match="cryo host add NAME.*cryo-agent --url URL --join TOKEN"):
        call_command("cryo", "worker", "--host", "h1")
