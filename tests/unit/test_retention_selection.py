"""Which checkpoints a retention policy lets go: beyond the newest N, too old, or past a total size; never a pinned
one; the oldest first."""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from snapshots.scheduling.retention import select

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Cp:
    name: str
    hours_old: int
    size_bytes: int = 1_000_000
    pinned: bool = False

    @property
    def created_at(self):
        return NOW - timedelta(hours=self.hours_old)


def names(doomed):
    return [d.checkpoint.name for d in doomed]


def test_keep_last_lets_the_older_ones_go_oldest_first():
    cps = [Cp("a", 1), Cp("b", 2), Cp("c", 3), Cp("d", 4)]
    assert names(select(cps, keep_last=2, now=NOW)) == ["d", "c"]


def test_a_pinned_checkpoint_is_never_pruned_and_does_not_count_toward_the_last_n():
    cps = [Cp("a", 1), Cp("b", 2, pinned=True), Cp("c", 3), Cp("d", 4, pinned=True), Cp("e", 5)]
    assert names(select(cps, keep_last=1, now=NOW)) == ["e", "c"]
    assert names(select(cps, keep_last=0, max_age_seconds=60, max_total_bytes=1, now=NOW)) == ["e", "c", "a"]


def test_max_age_lets_go_what_is_older():
    cps = [Cp("a", 1), Cp("b", 30), Cp("c", 50)]
    doomed = select(cps, max_age_seconds=24 * 3600, now=NOW)
    assert names(doomed) == ["c", "b"] and doomed[0].reason == "older than 1d"


def test_max_total_size_keeps_the_newest_that_fit():
    cps = [Cp("a", 1, 400), Cp("b", 2, 400), Cp("c", 3, 400), Cp("d", 4, 100)]
    doomed = select(cps, max_total_bytes=1000, now=NOW)
    assert names(doomed) == ["c"]  # a and b fit (800), c would pass 1000, d still fits (900)


def test_any_rule_is_enough_and_every_reason_is_given():
    cps = [Cp("a", 1), Cp("b", 48)]
    doomed = select(cps, keep_last=1, max_age_seconds=3600, now=NOW)
    assert names(doomed) == ["b"] and doomed[0].reasons == ("beyond the newest 1", "older than 1h")


def test_no_rule_lets_nothing_go():
    assert select([Cp("a", 1), Cp("b", 900)], now=NOW) == []
