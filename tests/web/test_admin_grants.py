"""Ada grants a host to a team in the Django admin; the change is audited and Otto can act there."""
import pytest
from django.contrib.auth.models import Group

from snapshots.models import AuditEvent
from snapshots.services import access

pytestmark = pytest.mark.django_db


def test_granting_a_host_to_a_team_is_audited_and_takes_effect(client, people, fleet):
    people.ada.is_staff = True
    people.ada.is_superuser = True
    people.ada.save()
    client.force_login(people.ada)
    team = Group.objects.get(name="team-a")
    response = client.post(f"/admin/snapshots/host/{fleet.beta.pk}/change/", {"operator_groups": [team.pk]})
    assert response.status_code == 302, response.content[:400]
    event = AuditEvent.objects.get(action="host.grants")
    assert (event.actor_name, event.host_name, event.details["after"]) == ("ada", "beta", ["team-a"])
    people.otto.refresh_from_db()
    assert access.can_operate(people.otto, fleet.beta)


def test_the_audit_log_cannot_be_edited_in_the_admin(client, people, fleet):
    people.ada.is_staff = people.ada.is_superuser = True
    people.ada.save()
    client.force_login(people.ada)
    event = AuditEvent.objects.create(actor_name="ada", action="checkpoint", outcome="succeeded")
    assert client.post(f"/admin/snapshots/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
