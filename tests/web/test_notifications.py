"""Team notifications: the page and who may use it, which jobs a team hears about, signed webhook deliveries to a
real HTTP receiver (retried, refused where they must not go) and e-mail through Django's e-mail backend.
The delivery task is called directly here; tests/integration/test_webhook_delivery.py runs it in a real worker."""
import json
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from notifications.fanout import job_finished
from notifications.models import Delivery, EmailNotice, TeamEmail, Webhook
from notifications.tasks import deliver_email, deliver_webhook
from snapshots.models import AuditEvent

from ..harness.jobs import expire
from ..harness.receiver import Receiver
from .conftest import finish, make_container

SECRET = "team-a-webhook-secret-0123456789"
# Jobs tell notifications on commit, as they do in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def private_targets_allowed(settings):
    settings.CRYO_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1


@pytest.fixture
def queued_sends():
    """The control queue, recorded: (task name, id, countdown) for each message the code would send."""
    sent = []
    with mock.patch("notifications.tasks._send", side_effect=lambda task, pk, countdown=None: sent.append(
            (task.name, pk, countdown))):
        yield sent


@pytest.fixture
def team_b(fleet):
    team = Group.objects.create(name="team-b")
    fleet.beta.operator_groups.add(team)
    return team


def failed_job(fleet, container=None):
    job = fleet.checkpoint_job(container=container)
    expire(job)
    return job


def deliver_all(sent):
    """Run each queued delivery task directly, as the control worker would, including its retries."""
    done = 0
    while done < len(sent):
        name, pk, _countdown = sent[done]
        done += 1
        (deliver_webhook if name == "notifications.deliver_webhook" else deliver_email)(pk)


# -- the page ------------------------------------------------------------------------------------------------
def test_an_operator_adds_a_webhook_for_his_team_and_it_is_audited(as_otto, fleet):
    team = fleet.people.team_a
    response = as_otto.post(f"/teams/{team.pk}/webhooks/", {"url": "https://hooks.example.org/cryo", "secret": ""})
    assert response.status_code == 302
    hook = Webhook.objects.get(team=team)
    assert hook.url == "https://hooks.example.org/cryo" and len(hook.secret) >= 32 and not hook.every_job
    event = AuditEvent.objects.get(action="notifications.webhook.add")
    assert event.actor_name == "otto" and event.outcome == "succeeded" and event.details["team"] == "team-a"
    page = as_otto.get(f"/teams/{team.pk}/").content.decode()
    assert "https://hooks.example.org/cryo" in page and hook.secret in page


def test_a_viewer_cannot_add_a_webhook_to_a_team(as_vic, fleet):
    team = fleet.people.team_a
    response = as_vic.post(f"/teams/{team.pk}/webhooks/", {"url": "https://evil.example.org/", "secret": ""})
    assert response.status_code == 403
    assert not Webhook.objects.exists()
    denied = AuditEvent.objects.get(outcome="denied")
    assert denied.action == "notifications.webhook.add" and denied.actor_name == "vic"
    assert as_vic.get(f"/teams/{team.pk}/").status_code == 403


def test_an_operator_cannot_see_or_change_another_teams_notifications(as_otto, fleet, team_b):
    hook = Webhook.objects.create(team=team_b, url="https://b.example.org/", secret=SECRET)
    assert as_otto.get(f"/teams/{team_b.pk}/").status_code == 403
    assert as_otto.get(f"/teams/{team_b.pk}/webhooks/{hook.pk}/").status_code == 403
    assert as_otto.post(f"/teams/{team_b.pk}/webhooks/{hook.pk}/delete/").status_code == 403
    assert as_otto.post(f"/teams/{team_b.pk}/email/", {"active": "on"}).status_code == 403
    # nor reach team-b's webhook through his own team's address
    assert as_otto.post(f"/teams/{fleet.people.team_a.pk}/webhooks/{hook.pk}/delete/").status_code == 404
    assert Webhook.objects.filter(pk=hook.pk, url="https://b.example.org/").exists()
    assert not TeamEmail.objects.exists()
    assert AuditEvent.objects.filter(outcome="denied", actor_name="otto").count() == 2, "refused POSTs, not GETs"


def test_a_link_local_webhook_url_is_refused_with_the_reason_and_nothing_is_saved(as_otto, fleet):
    team = fleet.people.team_a
    response = as_otto.post(f"/teams/{team.pk}/webhooks/", {"url": "http://169.254.169.254/latest/meta-data/"})
    assert response.status_code == 422 and "link-local addresses" in response.content.decode()
    assert not Webhook.objects.exists() and not AuditEvent.objects.filter(action__startswith="notif").exists()


def test_an_operator_sets_email_notices_and_deletes_a_webhook(as_otto, fleet):
    team = fleet.people.team_a
    hook = Webhook.objects.create(team=team, url="https://a.example.org/", secret=SECRET)
    bad = as_otto.post(f"/teams/{team.pk}/email/", {"active": "on", "recipients": "ops@example.org, not-an-address"})
    assert bad.status_code == 422 and not TeamEmail.objects.exists()
    as_otto.post(f"/teams/{team.pk}/email/", {"active": "on", "every_job": "on", "recipients": " ops@example.org "})
    assert TeamEmail.objects.filter(team=team, active=True, every_job=True, recipients="ops@example.org").exists()
    assert as_otto.post(f"/teams/{team.pk}/webhooks/{hook.pk}/delete/").status_code == 302
    assert not Webhook.objects.exists()
    assert {"notifications.email", "notifications.webhook.delete"} <= set(
        AuditEvent.objects.values_list("action", flat=True))


def test_only_admins_and_operators_see_the_notifications_link(as_vic, client, fleet):
    assert "Notifications</a>" not in as_vic.get("/").content.decode()
    client.force_login(fleet.people.otto)
    assert "Notifications</a>" in client.get("/").content.decode()
    assert "team-a" in client.get("/teams/").content.decode()


# -- which jobs, and deliveries to a real receiver --------------------------------------------------------------
def test_a_failed_job_is_delivered_signed_to_the_webhook_of_the_team_of_its_host_only(fleet, team_b, queued_sends,
                                                                                       as_otto):
    with Receiver(SECRET) as a, Receiver(SECRET) as b:
        hook_a = Webhook.objects.create(team=fleet.people.team_a, url=a.url, secret=SECRET)
        Webhook.objects.create(team=team_b, url=b.url, secret=SECRET)
        job = failed_job(fleet)  # on alpha, granted to team-a
        deliver_all(queued_sends)
    assert len(a.received) == 1 and b.received == []
    got = a.received[0]
    assert got["valid"] and got["path"] == "/hooks/cryo" and got["headers"]["X-Cryo-Event"] == "job.failed"
    body = json.loads(got["body"])
    assert body["team"] == "team-a" and body["job"]["id"] == str(job.id) and body["job"]["state"] == "failed"
    assert body["job"]["error"].startswith("expired:") and body["job"]["host"] == "alpha"
    delivery = Delivery.objects.get(webhook=hook_a)
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("delivered", 1, 204)
    page = as_otto.get(f"/teams/{fleet.people.team_a.pk}/webhooks/{hook_a.pk}/").content.decode()
    assert 'data-state="delivered"' in page and "HTTP 204" in page


def test_a_succeeded_job_goes_only_to_webhooks_that_want_every_job(fleet, queued_sends):
    with Receiver(SECRET) as failures_only, Receiver(SECRET) as everything:
        Webhook.objects.create(team=fleet.people.team_a, url=failures_only.url, secret=SECRET)
        Webhook.objects.create(team=fleet.people.team_a, url=everything.url, secret=SECRET, every_job=True)
        job = finish(fleet.checkpoint_job())
        job_finished(job.id)
        deliver_all(queued_sends)
    assert failures_only.received == []
    assert [json.loads(r["body"])["event"] for r in everything.received] == ["job.succeeded"]


def test_a_receiver_that_fails_twice_gets_the_delivery_on_the_third_attempt_after_growing_pauses(fleet, settings,
                                                                                                 queued_sends):
    settings.CRYO_WEBHOOK_BACKOFF = 10
    with Receiver(SECRET, fail_first=2) as receiver:
        hook = Webhook.objects.create(team=fleet.people.team_a, url=receiver.url, secret=SECRET)
        failed_job(fleet)
        deliver_all(queued_sends)
    assert [r["status"] for r in receiver.received] == [500, 500, 204]
    assert all(r["valid"] for r in receiver.received)
    assert [countdown for _name, _pk, countdown in queued_sends] == [None, 10, 20]
    delivery = Delivery.objects.get(webhook=hook)
    assert (delivery.state, delivery.attempts, delivery.status_code, delivery.error) == ("delivered", 3, 204, "")


def test_a_delivery_is_given_up_after_the_last_attempt(fleet, settings, queued_sends):
    settings.CRYO_WEBHOOK_ATTEMPTS = 3
    with Receiver(SECRET, fail_first=99) as receiver:
        hook = Webhook.objects.create(team=fleet.people.team_a, url=receiver.url, secret=SECRET)
        failed_job(fleet)
        deliver_all(queued_sends)
    assert len(receiver.received) == 3
    delivery = Delivery.objects.get(webhook=hook)
    assert (delivery.state, delivery.attempts, delivery.error) == ("failed", 3, "the receiver answered HTTP 500")


def test_without_private_targets_allowed_a_loopback_receiver_gets_nothing(fleet, settings, queued_sends):
    with Receiver(SECRET) as receiver:
        hook = Webhook.objects.create(team=fleet.people.team_a, url=receiver.url, secret=SECRET)
        settings.CRYO_WEBHOOK_ALLOW_PRIVATE = False
        failed_job(fleet)
        deliver_all(queued_sends)
    assert receiver.received == []
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.state == "refused" and "CRYO_WEBHOOK_ALLOW_PRIVATE" in delivery.error
    assert len(queued_sends) == 1, "a refused delivery is not tried again"


def test_the_same_job_ending_twice_is_notified_once(fleet, queued_sends):
    with Receiver(SECRET) as receiver:
        Webhook.objects.create(team=fleet.people.team_a, url=receiver.url, secret=SECRET)
        job = failed_job(fleet)
        job_finished(job.id)
        deliver_all(queued_sends)
    assert len(receiver.received) == 1 and Delivery.objects.count() == 1


def test_a_wrong_secret_on_the_receivers_side_is_seen_as_an_invalid_signature(fleet, queued_sends):
    with Receiver("the-receiver-expects-another-secret") as receiver:
        Webhook.objects.create(team=fleet.people.team_a, url=receiver.url, secret=SECRET)
        failed_job(fleet)
        deliver_all(queued_sends[:1])
    assert receiver.received[0]["valid"] is False and receiver.received[0]["status"] == 401


# -- e-mail ------------------------------------------------------------------------------------------------------
def test_a_failed_job_is_mailed_to_the_teams_members_and_a_succeeded_one_is_not(fleet, queued_sends):
    TeamEmail.objects.create(team=fleet.people.team_a)
    job = failed_job(fleet)
    succeeded = finish(fleet.checkpoint_job(container=make_container(fleet.alpha, "web-2")))
    job_finished(succeeded.id)
    deliver_all(queued_sends)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["otto@example.test"]
    assert message.subject == f"[Cryo] Failed: {job.describe()}"
    assert "expired: no agent of host alpha took the job" in message.body and str(job.id) in message.body
    assert EmailNotice.objects.get().state == "delivered"


def test_every_job_mails_go_to_the_listed_recipients(fleet, queued_sends):
    TeamEmail.objects.create(team=fleet.people.team_a, every_job=True, recipients="ops@example.org, oncall@example.org")
    job = finish(fleet.checkpoint_job())
    job_finished(job.id)
    deliver_all(queued_sends)
    assert [(m.to, m.subject.split(":")[0]) for m in mail.outbox] == [
        (["ops@example.org", "oncall@example.org"], "[Cryo] Succeeded")]


def test_a_job_on_a_host_of_no_team_notifies_nobody(fleet, team_b, queued_sends):
    TeamEmail.objects.create(team=fleet.people.team_a, every_job=True)
    job = finish(fleet.checkpoint_job(container=fleet.cache))  # beta: team-b, which set up nothing
    job_finished(job.id)
    assert queued_sends == [] and mail.outbox == [] and not Delivery.objects.exists()
