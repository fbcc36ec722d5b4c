"""`cryo schedule ...` through the same API code (`manage.py cryo --as`): an operator adds, lists, pauses, resumes,
edits and deletes; a viewer is refused and nothing changes."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from snapshots.models import AuditEvent, Schedule


def _cryo(*args):
    out = StringIO()
    call_command("cryo", *args, stdout=out)
    return out.getvalue()


def test_an_operator_manages_a_schedule_from_the_command_line(fleet, people):
    said = _cryo("--as", "otto", "schedule", "add", "alpha", "web-1", "--every", "2h")
    schedule = Schedule.objects.get()
    assert f"Schedule {schedule.pk}: every 2h on alpha/web-1" in said
    assert (schedule.interval_seconds, schedule.leave_running, schedule.created_by) == (7200, True, people.otto)
    assert "alpha/web-1" in _cryo("--as", "otto", "schedule", "list")
    _cryo("--as", "otto", "schedule", "pause", str(schedule.pk))
    schedule.refresh_from_db()
    assert schedule.paused
    _cryo("--as", "otto", "schedule", "resume", str(schedule.pk))
    _cryo("--as", "otto", "schedule", "edit", str(schedule.pk), "--cron", "30 1 * * *", "--stop")
    schedule.refresh_from_db()
    assert (schedule.paused, schedule.cron, schedule.interval_seconds, schedule.leave_running) == (
        False, "30 1 * * *", None, False)
    assert "No runs" not in _cryo("--as", "otto", "schedule", "show", str(schedule.pk))
    _cryo("--as", "otto", "schedule", "delete", str(schedule.pk))
    assert not Schedule.objects.exists()
    actions = set(AuditEvent.objects.filter(actor=people.otto, outcome="succeeded").values_list("action", flat=True))
    assert actions >= {"schedule.create", "schedule.pause", "schedule.resume", "schedule.edit", "schedule.delete"}
    assert AuditEvent.objects.filter(action="schedule.create", source__startswith="cli:").exists()


def test_a_bad_interval_is_explained_on_the_command_line(fleet, people):
    with pytest.raises(CommandError, match="90s, 15m, 2h or 1d"):
        _cryo("--as", "otto", "schedule", "add", "alpha", "web-1", "--every", "soon")
    assert not Schedule.objects.exists()


def test_a_viewer_may_not_add_or_delete_a_schedule_from_the_command_line(fleet, people):
    with pytest.raises(CommandError, match="may not"):
        _cryo("--as", "vic", "schedule", "add", "alpha", "web-1", "--every", "1h")
    assert not Schedule.objects.exists()
    _cryo("--as", "otto", "schedule", "add", "alpha", "web-1", "--every", "1h")
    schedule = Schedule.objects.get()
    with pytest.raises(CommandError, match="may not"):
        _cryo("--as", "vic", "schedule", "delete", str(schedule.pk))
    assert Schedule.objects.filter(pk=schedule.pk, paused=False).exists()


def test_only_an_admin_adds_a_fleet_schedule_from_the_command_line(fleet, people):
    with pytest.raises(CommandError, match="only an admin"):
        _cryo("--as", "otto", "schedule", "add", "--fleet", "--every", "1d")
    assert "every 1d on fleet" in _cryo("--as", "ada", "schedule", "add", "--fleet", "--every", "1d")
