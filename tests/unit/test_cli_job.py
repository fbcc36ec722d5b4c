"""`cryo job` finds a job by its full id or by a unique prefix, on every database."""
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from snapshots import services

from .fakes import online_host, running_container

pytestmark = pytest.mark.django_db


def test_a_job_is_shown_by_its_id_or_a_prefix_of_it(people, origin):
    running_container(online_host("h1"))
    with mock.patch("snapshots.services.dispatch.send"):
        job = services.request_checkpoint(people.ada, "h1", "web", name="c1", origin=origin)
    for ref in (str(job.id), str(job.id)[:8]):
        out = StringIO()
        call_command("cryo", "job", ref, stdout=out)
        assert str(job.id) in out.getvalue() and "checkpoint" in out.getvalue()
    with pytest.raises(CommandError, match="no job with id 'ffffffff-dead'"):
        call_command("cryo", "job", "ffffffff-dead")
