"""Retention in the pages and the control process: a preview lists what a policy would delete and deletes nothing;
a saved policy prunes through ordinary delete jobs for its creator, one at a time per container, never a pinned
checkpoint; pinning and policies are permission-checked and audited."""
from datetime import timedelta

from django.urls import reverse

from snapshots.models import AuditEvent, Checkpoint, Job, RetentionPolicy, Selector
from snapshots.scheduling import retention
from snapshots.services import Origin
from snapshots.services import retention as service

from .conftest import make_checkpoint

ORIGIN = Origin(source="10.0.0.9")


def _three(fleet):
    return [make_checkpoint(fleet.web, f"web-1-{n}", ago=timedelta(hours=n)) for n in (1, 2, 3)]


def test_a_preview_lists_what_a_policy_would_delete_and_changes_nothing(as_otto, fleet):
    _three(fleet)
    response = as_otto.get(reverse("retention-preview"), {"selector": "container", "host": "alpha",
                                                          "container": "web-1", "keep_last": "1"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "web-1-2" in page and "web-1-3" in page and "beyond the newest 1" in page
    assert "<code>web-1-1</code>" not in page
    assert not RetentionPolicy.objects.exists() and not Job.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="retention").exists()


def test_an_htmx_preview_answers_with_the_preview_part(as_otto, fleet):
    _three(fleet)
    response = as_otto.get(reverse("retention-preview"), {"selector": "container", "host": "alpha",
                                                          "container": "web-1", "max_age": "90m"},
                           HTTP_HX_REQUEST="true", HTTP_HX_TARGET="retention-preview")
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="retention-preview"') and "older than 90m" in body


def test_a_policy_without_a_rule_is_explained_and_not_saved(as_otto, fleet):
    response = as_otto.post(reverse("retention-add"), {"selector": "container", "host": "alpha",
                                                       "container": "web-1"})
    assert response.status_code == 422 and "at least one rule" in response.content.decode()
    assert not RetentionPolicy.objects.exists()


def test_an_operator_saves_a_policy_and_it_prunes_the_oldest_first_for_its_creator(as_otto, fleet, people, sent):
    cps = _three(fleet)
    response = as_otto.post(reverse("retention-add"), {"selector": "container", "host": "alpha",
                                                       "container": "web-1", "keep_last": "1"})
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get()
    assert AuditEvent.objects.filter(action="retention.create", actor=people.otto, outcome="succeeded").exists()
    assert retention.prune() == 1
    job = Job.objects.get()
    assert (job.kind, job.checkpoint_name, job.requested_by, job.requested_by_name) == (
        Job.Kind.DELETE_CHECKPOINT, cps[2].name, people.otto, f"retention {policy.pk} (otto)")
    requested = AuditEvent.objects.get(job_id=job.id, outcome="requested")
    assert requested.details["retention"] == policy.pk and requested.details["reason"] == "beyond the newest 1"
    assert retention.prune() == 0  # the container is busy with that delete: the next one waits its turn


def test_a_pinned_checkpoint_is_never_pruned(as_otto, fleet, people, sent):
    cps = _three(fleet)
    as_otto.post(reverse("checkpoint-pin", args=[fleet.web.pk, cps[2].name]), {"pinned": "1"})
    assert Checkpoint.objects.get(pk=cps[2].pk).pinned
    assert AuditEvent.objects.filter(action="checkpoint.pin", checkpoint_name=cps[2].name).exists()
    service.create(people.otto, selector=Selector.CONTAINER, container=fleet.web, keep_last=0, origin=ORIGIN)
    assert retention.prune() == 1
    assert Job.objects.get().checkpoint_name == cps[1].name


def test_a_viewers_forged_pin_policy_and_delete_change_nothing(client, fleet, people):
    cps = _three(fleet)
    policy = service.create(people.otto, selector=Selector.CONTAINER, container=fleet.web, keep_last=5,
                            origin=ORIGIN)
    client.force_login(people.vic)
    assert client.post(reverse("checkpoint-pin", args=[fleet.web.pk, cps[0].name]), {"pinned": "1"}).status_code == 403
    assert client.post(reverse("retention-add"), {"selector": "container", "host": "alpha", "container": "web-1",
                                                  "keep_last": "0"}).status_code == 403
    assert client.post(reverse("retention-add"), {"selector": "fleet"}).status_code == 403
    assert client.post(reverse("retention-delete", args=[policy.pk])).status_code == 403
    assert not Checkpoint.objects.filter(pinned=True).exists()
    assert list(RetentionPolicy.objects.values_list("pk", "keep_last")) == [(policy.pk, 5)]
    assert AuditEvent.objects.filter(actor=people.vic, outcome="denied").count() == 4


def test_pinning_without_the_right_is_refused_and_audited_before_the_checkpoint_is_looked_up(client, fleet, people):
    client.force_login(people.vic)
    for name in ("no-such-checkpoint", "db-1-frozen"):
        response = client.post(reverse("checkpoint-pin", args=[fleet.db.pk, name]), {"pinned": "1"})
        assert response.status_code == 403 and "no-such-checkpoint" not in response.content.decode()
    denied = AuditEvent.objects.filter(actor=people.vic, outcome="denied", action="checkpoint.pin")
    assert sorted(denied.values_list("checkpoint_name", flat=True)) == ["db-1-frozen", "no-such-checkpoint"]
    assert not Checkpoint.objects.filter(pinned=True).exists()


def test_an_operator_may_not_make_a_fleet_policy(as_otto, fleet, people):
    assert as_otto.post(reverse("retention-add"), {"selector": "fleet", "keep_last": "0"}).status_code == 403
    assert not RetentionPolicy.objects.exists()


def test_a_policy_whose_creator_lost_the_host_prunes_nothing(fleet, people, sent):
    _three(fleet)
    service.create(people.otto, selector=Selector.CONTAINER, container=fleet.web, keep_last=0, origin=ORIGIN)
    fleet.alpha.operator_groups.clear()
    assert retention.prune() == 0 and not Job.objects.exists()


def test_an_operator_deletes_a_policy(as_otto, fleet, people):
    policy = service.create(people.otto, selector=Selector.CONTAINER, container=fleet.web, keep_last=5,
                            origin=ORIGIN)
    assert as_otto.post(reverse("retention-delete", args=[policy.pk])).status_code == 302
    assert not RetentionPolicy.objects.exists()
    assert AuditEvent.objects.filter(action="retention.delete", actor=people.otto).exists()
