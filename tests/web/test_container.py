import pytest

from snapshots.models import Checkpoint

from .conftest import count_queries, finish, grow, htmx

pytestmark = pytest.mark.django_db


def test_it_shows_checkpoints_with_size_author_and_engine(as_vic, fleet):
    content = as_vic.get(f"/containers/{fleet.db.pk}/").content.decode()
    assert "db-1-frozen" in content and "16.2 MB" in content and "otto" in content and "Docker 27.5.1" in content


def test_deleted_checkpoints_are_not_listed(as_vic, fleet):
    Checkpoint.objects.filter(pk=fleet.frozen.pk).update(status=Checkpoint.Status.DELETED)
    assert "db-1-frozen" not in as_vic.get(f"/containers/{fleet.db.pk}/").content.decode()


def test_an_operator_gets_the_forms_with_a_suggested_name(as_otto, fleet):
    content = as_otto.get(f"/containers/{fleet.web.pk}/").content.decode()
    assert 'value="web-1-20' in content
    assert '<button type="submit" class="primary">Checkpoint</button>' in content
    assert 'name="leave_running"' in content


def test_the_restore_form_offers_the_present_checkpoints(as_otto, fleet):
    content = as_otto.get(f"/containers/{fleet.db.pk}/").content.decode()
    assert '<option value="db-1-frozen">db-1-frozen</option>' in content
    assert '<button type="submit">Restore</button>' in content
    assert 'aria-label="Delete checkpoint db-1-frozen"' in content


def test_a_viewer_sees_no_action_buttons(as_vic, fleet):
    content = as_vic.get(f"/containers/{fleet.db.pk}/").content.decode()
    for name in (">Checkpoint</button>", ">Restore</button>", "Delete checkpoint", ">Delete</button>"):
        assert name not in content


def test_an_operator_of_another_team_sees_no_action_buttons(as_otto, fleet):
    content = as_otto.get(f"/containers/{fleet.cache.pk}/").content.decode()
    assert ">Checkpoint</button>" not in content


def test_its_job_history_lists_the_containers_jobs(as_vic, fleet):
    job = finish(fleet.checkpoint_job(name="hist-1"))
    content = as_vic.get(f"/containers/{fleet.web.pk}/").content.decode()
    assert f"/jobs/{job.id}/" in content and "hist-1" in content


def test_the_live_part_answers_alone_and_keeps_looking_right_after_a_job_ended(as_vic, fleet):
    finish(fleet.checkpoint_job())
    content = as_vic.get(f"/containers/{fleet.web.pk}/", **htmx("container-live")).content.decode()
    assert content.lstrip().startswith("<section") and 'id="container-live"' in content
    assert "every 2s" in content


def test_an_unknown_container_is_404(as_vic, fleet):
    assert as_vic.get("/containers/999999/").status_code == 404


def test_its_query_count_does_not_grow_with_the_data(as_otto, fleet):
    fleet.checkpoint_job(actor=fleet.people.otto)
    small = count_queries(as_otto, f"/containers/{fleet.web.pk}/")
    made = grow(fleet)
    for i in range(30):
        finish(fleet.checkpoint_job(container=made[20], name=f"many-{i}"))
    Checkpoint.objects.bulk_create(
        Checkpoint(container=fleet.web, name=f"extra-{i}", exit=False) for i in range(40)
    )
    assert count_queries(as_otto, f"/containers/{fleet.web.pk}/") == small <= 10  # 10: its schedules
