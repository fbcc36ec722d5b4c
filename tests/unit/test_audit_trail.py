import pytest

from snapshots.models import AuditEvent
from snapshots.services import audit

pytestmark = pytest.mark.django_db


def test_audit_rows_cannot_be_changed_or_deleted(people):
    event = audit.record(actor=people.ada, action="checkpoint", outcome="requested", host="h1")
    event.outcome = "succeeded"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(outcome="failed")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().delete()


def test_the_actors_name_survives_the_deletion_of_the_user(people):
    event = audit.record(actor=people.vic, action="checkpoint", outcome="denied", host="h1")
    people.vic.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor_name == "vic" and not type(people.vic).objects.filter(pk=event.actor_id).exists()
