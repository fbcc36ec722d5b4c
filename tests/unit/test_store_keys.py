"""Archive data keys on the dashboard: wrapped by the store's key-encryption key, bound to their archive, and
rewrapped by `manage.py cryo store-key rotate` without losing one."""
import base64
import io
import os

import pytest
from django.core.management import CommandError, call_command

from snapshots import store, store_keys
from snapshots.models import Archive, AuditEvent, Job

from .fakes import online_host

pytestmark = pytest.mark.django_db


@pytest.fixture
def archives(people):
    host = online_host("h1")
    job = Job.objects.create(kind="migrate", host=host, step_host=host, requested_by_name="ada")
    return [store.new_upload(job, Archive.Kind.CHECKPOINT, keep=False) for _ in range(3)]


def test_a_wrapped_key_moved_to_another_archive_does_not_open(archives):
    first, second = archives[:2]
    Archive.objects.filter(pk=second.pk).update(wrapped_key=first.wrapped_key)
    with pytest.raises(store_keys.KeyUnavailable, match="changed or moved"):
        store_keys.unwrap(Archive.objects.get(pk=second.pk))


def test_the_dashboard_refuses_a_store_kek_that_is_not_32_bytes_of_base64(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from dashboard.env import envkey

    for bad in ("short", base64.b64encode(os.urandom(16)).decode(), "not base64 at all!!"):
        monkeypatch.setenv("CRYO_TEST_KEK", bad)
        with pytest.raises(ImproperlyConfigured, match="base64 of 32 random bytes"):
            envkey("CRYO_TEST_KEK")


def test_rotation_rewraps_every_key_with_the_new_kek_and_each_still_opens(archives, settings):
    before = {a.pk: store_keys.unwrap(a) for a in archives}
    old, new = settings.CRYO_STORE_KEK, os.urandom(32)
    settings.CRYO_STORE_KEK, settings.CRYO_STORE_KEK_PREVIOUS = new, old
    out = io.StringIO()
    call_command("cryo", "store-key", "rotate", stdout=out)
    assert "3 archive keys rewrapped" in out.getvalue()
    settings.CRYO_STORE_KEK_PREVIOUS = None  # the old key is gone: everything opens with the new one alone
    for archive in Archive.objects.filter(pk__in=before):
        assert archive.key_id == store_keys.kek_id(new)
        assert store_keys.unwrap(archive) == before[archive.pk]
    event = AuditEvent.objects.get(action="store_key.rotate")
    assert event.outcome == "succeeded" and event.details["rewrapped"] == 3


def test_rotation_without_the_previous_kek_changes_nothing_and_says_which_keys_it_cannot_open(archives, settings):
    before = {a.pk: (bytes(a.wrapped_key), a.key_id) for a in archives}
    settings.CRYO_STORE_KEK, settings.CRYO_STORE_KEK_PREVIOUS = os.urandom(32), None
    with pytest.raises(CommandError, match="3 archive keys are wrapped by a key-encryption key that is not"):
        call_command("cryo", "store-key", "rotate", stdout=io.StringIO())
    assert {a.pk: (bytes(a.wrapped_key), a.key_id) for a in Archive.objects.all()} == before
    assert AuditEvent.objects.get(action="store_key.rotate").outcome == "failed"
