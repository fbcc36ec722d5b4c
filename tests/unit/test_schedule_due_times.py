"""When a schedule is due: cron expressions (croniter) and intervals, and how many due times an outage covers."""
from datetime import datetime, timedelta, timezone

import pytest

from snapshots.errors import InvalidRequest
from snapshots.scheduling import due

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def test_a_cron_schedule_is_first_due_at_its_next_matching_minute():
    assert due.first_after("*/15 * * * *", None, T0 + timedelta(minutes=1)) == T0 + timedelta(minutes=15)


def test_an_interval_schedule_is_first_due_one_interval_after_it_is_made():
    assert due.first_after("", 300, T0) == T0 + timedelta(minutes=5)


def test_an_interval_keeps_its_rhythm_after_a_late_round():
    # due at 12:00, the round came at 12:00:07: the next is 12:05, not 12:05:07
    assert due.following("", 300, T0, T0 + timedelta(seconds=7)) == T0 + timedelta(minutes=5)


def test_the_due_times_of_an_outage_are_counted_not_lost():
    count, latest = due.due_between("", 600, T0, T0 + timedelta(hours=2, minutes=5))
    assert (count, latest) == (13, T0 + timedelta(hours=2))
    count, latest = due.due_between("0 * * * *", None, T0, T0 + timedelta(hours=3, minutes=59))
    assert (count, latest) == (4, T0 + timedelta(hours=3))


def test_nothing_is_due_before_the_first_time():
    assert due.due_between("", 60, T0, T0 - timedelta(seconds=1)) == (0, None)


@pytest.mark.parametrize("expression", ["* * * *", "61 * * * *", "every hour", "* * * * * *", ""])
def test_a_bad_cron_expression_is_refused_with_its_reason(expression):
    with pytest.raises(InvalidRequest, match="cron expression"):
        due.check_cron(expression)


def test_a_good_cron_expression_is_kept_tidy():
    assert due.check_cron("  0   3 * * 1-5 ") == "0 3 * * 1-5"
