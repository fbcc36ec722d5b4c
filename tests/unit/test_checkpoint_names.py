import pytest
from django.core.exceptions import ValidationError

from snapshots.models.checkpoint import validate_checkpoint_name
from snapshots.services.requests import suggest_checkpoint_name


@pytest.mark.parametrize("name", ["ab", "web-1", "a.b_c-d", "X" * 128, "0start"])
def test_names_following_dockers_rule_are_accepted(name):
    validate_checkpoint_name(name)


@pytest.mark.parametrize("name", ["", "a", "_x", ".hidden", "-dash", "a/b", "a b", "x" * 129, "é1", None, "a\nb"])
def test_names_breaking_dockers_rule_are_refused_with_the_rule(name):
    with pytest.raises(ValidationError, match=r"\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\+"):
        validate_checkpoint_name(name)


def test_a_suggested_name_is_the_container_and_a_timestamp_and_always_valid():
    from datetime import datetime, timezone

    at = datetime(2026, 11, 26, 5, 4, 3, tzinfo=timezone.utc)
    assert suggest_checkpoint_name("web", at) == "web-20261126-050403"
    validate_checkpoint_name(suggest_checkpoint_name("_weird name/with:chars" * 10, at))
