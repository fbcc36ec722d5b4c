"""When a schedule is due: cron expressions through croniter, intervals by arithmetic. All times are UTC."""
from datetime import timedelta

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

from ..errors import InvalidRequest

# Counting the due times of a long outage stops here; the count is then reported as "at least".
COUNT_LIMIT = 100_000


def check_cron(expression):
    """A five-field cron expression, or a clear error."""
    expression = " ".join((expression or "").split())
    if len(expression.split(" ")) != 5:
        raise InvalidRequest(f"cron expression {expression!r} needs five fields: minute hour day-of-month month "
                             "day-of-week (for example '*/15 * * * *')")
    try:
        croniter(expression)
    except (CroniterBadCronError, CroniterNotAlphaError, CroniterBadDateError, ValueError, KeyError) as exc:
        raise InvalidRequest(f"cron expression {expression!r} is not valid: {exc}") from None
    return expression


def first_after(cron, interval_seconds, now):
    """The first due time of a schedule made (edited, resumed) at `now`."""
    if cron:
        return croniter(cron, now).get_next(type(now))
    return now + timedelta(seconds=interval_seconds)


def following(cron, interval_seconds, latest, now):
    """The next due time after a round at `now` whose latest due time was `latest`: an interval keeps its rhythm."""
    if cron:
        return croniter(cron, now).get_next(type(now))
    step = timedelta(seconds=interval_seconds)
    upcoming = latest + step
    if upcoming <= now:
        upcoming += ((now - upcoming) // step + 1) * step
    return upcoming


def due_between(cron, interval_seconds, first, now):
    """How many due times fall in [first, now] (first itself is due), and the latest of them."""
    if first > now:
        return 0, None
    if not cron:
        step = timedelta(seconds=interval_seconds)
        count = (now - first) // step + 1
        return count, first + (count - 1) * step
    count, latest, runner = 1, first, croniter(cron, first)
    while count < COUNT_LIMIT:
        following = runner.get_next(type(first))
        if following > now:
            break
        count, latest = count + 1, following
    return count, latest
