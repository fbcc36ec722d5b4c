"""Schedules in the pages: an operator adds, pauses, resumes, edits and deletes the schedules of the hosts granted
to them; a viewer's forged requests (and an operator's on another host, or on the fleet) change nothing and are
audited as denied."""
from datetime import timedelta

from django.urls import reverse

from snapshots.models import AuditEvent, Schedule, Selector
from snapshots.services import Origin, schedules

ORIGIN = Origin(source="10.0.0.9")


def _make(people, container, **kwargs):
    return schedules.create(people.otto, selector=Selector.CONTAINER, container=container,
                            **({"interval_seconds": 3600} | kwargs), origin=ORIGIN)


def test_the_container_page_offers_a_schedule_form_to_its_operator(as_otto, fleet):
    page = as_otto.get(reverse("container", args=[fleet.web.pk])).content.decode()
    assert 'id="container-schedules"' in page and 'id="schedule-form"' in page


def test_the_container_page_offers_no_schedule_form_to_a_viewer(client, people, fleet):
    client.force_login(people.vic)
    page = client.get(reverse("container", args=[fleet.web.pk])).content.decode()
    assert 'id="container-schedules"' in page and 'id="schedule-form"' not in page


def test_an_operator_adds_an_interval_schedule_in_the_page(as_otto, fleet, people):
    response = as_otto.post(reverse("container-schedule-add", args=[fleet.web.pk]),
                            {"every": "15m", "leave_running": "on"})
    assert response.status_code == 302
    schedule = Schedule.objects.get()
    assert (schedule.container, schedule.interval_seconds, schedule.cron, schedule.leave_running,
            schedule.created_by) == (fleet.web, 900, "", True, people.otto)
    assert AuditEvent.objects.filter(action="schedule.create", outcome="succeeded", actor=people.otto,
                                     container_name="web-1").exists()


def test_an_htmx_add_answers_with_the_schedules_part(as_otto, fleet):
    response = as_otto.post(reverse("container-schedule-add", args=[fleet.web.pk]), {"cron": "0 3 * * *"},
                            HTTP_HX_REQUEST="true", HTTP_HX_TARGET="container-schedules")
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section id="container-schedules"')
    assert "cron 0 3 * * *" in body


def test_a_bad_cron_expression_is_explained_and_nothing_is_saved(as_otto, fleet):
    response = as_otto.post(reverse("container-schedule-add", args=[fleet.web.pk]), {"cron": "61 * * * *"})
    assert response.status_code == 422 and "is not valid" in response.content.decode()
    assert not Schedule.objects.exists()


def test_a_schedule_needs_a_cron_expression_or_an_interval_not_both(as_otto, fleet):
    both = as_otto.post(reverse("container-schedule-add", args=[fleet.web.pk]), {"cron": "0 * * * *", "every": "1h"})
    neither = as_otto.post(reverse("container-schedule-add", args=[fleet.web.pk]), {})
    assert both.status_code == neither.status_code == 422
    assert "not both" in both.content.decode()
    assert not Schedule.objects.exists()


def test_an_interval_shorter_than_the_shortest_is_refused(as_otto, fleet):
    response = as_otto.post(reverse("container-schedule-add", args=[fleet.web.pk]), {"every": "2s"})
    assert response.status_code == 422 and not Schedule.objects.exists()


def test_a_viewers_forged_schedule_is_refused_audited_and_not_saved(client, people, fleet):
    client.force_login(people.vic)
    response = client.post(reverse("container-schedule-add", args=[fleet.web.pk]), {"every": "1h"})
    assert response.status_code == 403
    assert not Schedule.objects.exists()
    assert AuditEvent.objects.filter(action="schedule.create", outcome="denied", actor=people.vic).exists()


def test_an_operator_may_not_schedule_a_container_of_another_host(as_otto, fleet, people):
    response = as_otto.post(reverse("container-schedule-add", args=[fleet.cache.pk]), {"every": "1h"})
    assert response.status_code == 403 and not Schedule.objects.exists()


def test_only_an_admin_makes_a_fleet_schedule(as_otto, client, fleet, people):
    refused = as_otto.post(reverse("schedule-add"), {"selector": "fleet", "every": "1d"})
    assert refused.status_code == 403 and not Schedule.objects.exists()
    assert AuditEvent.objects.filter(action="schedule.create", outcome="denied", actor=people.otto).exists()
    client.force_login(people.ada)
    made = client.post(reverse("schedule-add"), {"selector": "fleet", "every": "1d"})
    assert made.status_code == 302 and Schedule.objects.get().selector == Selector.FLEET


def test_an_operator_makes_a_label_schedule_on_their_host(as_otto, fleet):
    response = as_otto.post(reverse("schedule-add"), {"selector": "label", "host": "alpha", "label": "tier=db",
                                                      "cron": "*/30 * * * *"})
    assert response.status_code == 302
    schedule = Schedule.objects.get()
    assert (schedule.host, schedule.label, schedule.cron) == (fleet.alpha, "tier=db", "*/30 * * * *")


def test_a_label_schedule_without_a_label_is_explained(as_otto, fleet):
    response = as_otto.post(reverse("schedule-add"), {"selector": "label", "host": "alpha", "every": "1h"})
    assert response.status_code == 422 and "needs a label" in response.content.decode()
    assert not Schedule.objects.exists()


def test_an_operator_pauses_and_resumes_a_schedule(as_otto, fleet, people):
    schedule = _make(people, fleet.web)
    as_otto.post(reverse("schedule-pause", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.paused
    response = as_otto.post(reverse("schedule-resume", args=[schedule.pk]), HTTP_HX_REQUEST="true",
                            HTTP_HX_TARGET="schedule-list")
    schedule.refresh_from_db()
    assert response.status_code == 200 and not schedule.paused
    assert set(AuditEvent.objects.filter(action__in=["schedule.pause", "schedule.resume"]).values_list(
        "action", flat=True)) == {"schedule.pause", "schedule.resume"}


def test_an_operator_edits_a_schedule(as_otto, fleet, people):
    schedule = _make(people, fleet.web)
    response = as_otto.post(reverse("schedule-edit", args=[schedule.pk]), {"cron": "0 2 * * *"})
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.cron, schedule.interval_seconds, schedule.leave_running) == ("0 2 * * *", None, False)
    edited = AuditEvent.objects.get(action="schedule.edit")
    assert edited.details["changed"]["cron"] == ["", "0 2 * * *"]


def test_an_operator_deletes_a_schedule(as_otto, fleet, people):
    schedule = _make(people, fleet.web)
    response = as_otto.post(reverse("schedule-delete", args=[schedule.pk]))
    assert response.status_code == 302 and not Schedule.objects.exists()
    assert AuditEvent.objects.filter(action="schedule.delete", outcome="succeeded").exists()


def test_a_viewers_forged_pause_edit_and_delete_change_nothing(client, people, fleet):
    schedule = _make(people, fleet.web)
    before = Schedule.objects.filter(pk=schedule.pk).values().get()
    client.force_login(people.vic)
    for name, data in (("schedule-pause", {}), ("schedule-resume", {}), ("schedule-delete", {}),
                       ("schedule-edit", {"cron": "* * * * *"}), ("schedule-edit", {"cron": "nonsense"})):
        assert client.post(reverse(name, args=[schedule.pk]), data).status_code == 403
    assert Schedule.objects.filter(pk=schedule.pk).values().get() == before
    assert AuditEvent.objects.filter(actor=people.vic, outcome="denied", action__startswith="schedule.").count() == 5


def test_an_operator_may_not_change_a_fleet_schedule(as_otto, people, fleet):
    schedule = schedules.create(people.ada, selector=Selector.FLEET, interval_seconds=3600, origin=ORIGIN)
    before = Schedule.objects.filter(pk=schedule.pk).values().get()
    assert as_otto.post(reverse("schedule-pause", args=[schedule.pk])).status_code == 403
    assert as_otto.post(reverse("schedule-delete", args=[schedule.pk])).status_code == 403
    assert Schedule.objects.filter(pk=schedule.pk).values().get() == before


def test_the_schedule_page_shows_its_runs_and_skip_reasons(as_otto, people, fleet, sent):
    from snapshots.scheduling import runner

    schedule = _make(people, fleet.db)
    runner.run_due(schedule.next_run_at + timedelta(seconds=1))
    page = as_otto.get(reverse("schedule", args=[schedule.pk])).content.decode()
    assert "db-1 is stopped (state: exited)" in page and "Skipped" in page


def test_the_schedules_page_lists_schedules_for_a_viewer_without_actions(client, people, fleet):
    _make(people, fleet.web)
    client.force_login(people.vic)
    page = client.get(reverse("schedules")).content.decode()
    assert "alpha/web-1" in page and "Pause schedule" not in page and 'id="selector-schedule-form"' not in page


def test_a_malformed_schedule_from_someone_without_the_right_is_refused_and_audited_before_it_is_explained(
        client, people, fleet, as_otto):
    refused = as_otto.post(reverse("container-schedule-add", args=[fleet.cache.pk]), {"every": "soon"})
    assert refused.status_code == 403
    assert as_otto.post(reverse("schedule-add"), {"selector": "fleet", "every": "soon"}).status_code == 403
    assert as_otto.post(reverse("schedule-add"), {"selector": "label", "host": "beta", "every": "soon"}
                        ).status_code == 403
    assert AuditEvent.objects.filter(action="schedule.create", outcome="denied", actor=people.otto).count() == 3
    client.force_login(people.vic)
    assert client.post(reverse("container-schedule-add", args=[fleet.web.pk]), {"every": "soon"}).status_code == 403
    assert client.post(reverse("schedule-add"), {"selector": "label", "every": "soon"}).status_code == 403
    assert AuditEvent.objects.filter(action="schedule.create", outcome="denied", actor=people.vic).count() == 2
    assert not Schedule.objects.exists()


def test_a_malformed_schedule_from_its_operator_is_explained_without_a_denial(as_otto, fleet, people):
    response = as_otto.post(reverse("container-schedule-add", args=[fleet.web.pk]), {"every": "soon"})
    assert response.status_code == 422 and "number and a unit" in response.content.decode()
    labelled = as_otto.post(reverse("schedule-add"), {"selector": "label", "host": "alpha", "every": "soon"})
    assert labelled.status_code == 422
    assert not AuditEvent.objects.filter(outcome="denied").exists() and not Schedule.objects.exists()
