"""One rule per kind of name: the model, the forms, the API and the host agent all apply these."""
import pytest
from django.core.exceptions import ValidationError

from snapshots import names
from snapshots.models.checkpoint import validate_checkpoint_name
from snapshots.services.actions import suggest_checkpoint_name


@pytest.mark.parametrize("name", ["ab", "web-1", "a.b_c-d", "X" * 128, "0start"])
def test_names_following_dockers_rule_are_accepted(name):
    validate_checkpoint_name(name)
    assert names.CHECKPOINT.check(name) == name


@pytest.mark.parametrize("name", ["", "a", "_x", ".hidden", "-dash", "a/b", "a b", "x" * 129, "é1", None, "a\nb",
                                  "../x", "ok\x00"])
def test_names_breaking_dockers_rule_are_refused_with_the_rule(name):
    with pytest.raises(ValidationError, match=r"\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\+"):
        validate_checkpoint_name(name)
    with pytest.raises(names.InvalidName):
        names.CHECKPOINT.check(name)


@pytest.mark.parametrize("rule,good,bad", [
    (names.HOST, ["a", "web-01", "x" * 63], ["A", "-a", "a_b", "a.b", "x" * 64, ""]),
    (names.ENGINE_ID, ["a" * 64, "0123456789abcdef" * 4], ["A" * 64, "a" * 63, "../" + "a" * 61]),
    (names.UUID, ["0a1b2c3d-0000-4000-8000-0123456789ab"], ["0A1B2C3D-0000-4000-8000-0123456789AB", "x"]),
])
def test_each_kind_of_name_has_one_rule(rule, good, bad):
    assert all(rule.is_valid(v) for v in good)
    assert not any(rule.is_valid(v) for v in bad)


def test_a_suggested_name_is_the_container_and_a_timestamp_and_always_valid():
    from datetime import datetime, timezone

    at = datetime(2026, 11, 26, 5, 4, 3, tzinfo=timezone.utc)
    assert suggest_checkpoint_name("web", at) == "web-20261126-050403"
    validate_checkpoint_name(suggest_checkpoint_name("_weird name/with:chars" * 10, at))
