"""Accounts leave audit rows: sign-in, sign-out and failures; password changes; group membership and admin status
changed any way (page, admin, code); settings changed in the Django admin. No row carries a password."""
import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.urls import reverse

from snapshots.models import AuditEvent
from snapshots.services.access import ADMIN_GROUP

pytestmark = pytest.mark.django_db


def rows(action, **where):
    return list(AuditEvent.objects.filter(action=action, **where).order_by("seq"))


def no_secret_in(*texts):
    dumped = str(list(AuditEvent.objects.values_list()))
    return not any(text in dumped for text in texts)


@pytest.fixture
def root(people):
    """A superuser for the Django admin."""
    people.ada.is_staff = people.ada.is_superuser = True
    people.ada.save()
    return people.ada


def test_signing_in_is_audited_with_the_method_and_the_source(client, people):
    client.post(reverse("login"), {"username": "otto", "password": "otto-password-1"})
    event = rows("auth.login")[-1]
    assert (event.actor_name, event.actor_id, event.outcome, event.details["method"], event.source) == (
        "otto", people.otto.pk, "succeeded", "password", "127.0.0.1")


def test_a_failed_sign_in_is_audited_with_the_name_tried_and_never_the_password(client, people):
    response = client.post(reverse("login"), {"username": "otto", "password": "guess-Secret-42"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    event = rows("auth.login", outcome="failed")[-1]
    assert (event.actor_name, event.actor_id, event.details["user"]) == ("otto", None, "otto")
    assert no_secret_in("guess-Secret-42")


def test_signing_out_is_audited(as_vic, people):
    as_vic.post(reverse("logout"))
    event = rows("auth.logout")[-1]
    assert (event.actor_name, event.outcome) == ("vic", "succeeded")


def test_a_password_change_is_audited_without_the_password(as_vic, people):
    as_vic.post(reverse("password_change"), {
        "old_password": "vic-password-1",
        "new_password1": "a-new-long-passphrase-9", "new_password2": "a-new-long-passphrase-9",
    })
    (event,) = rows("account.password")
    assert (event.actor_name, event.details["user"], event.source) == ("vic", "vic", "127.0.0.1")
    people.vic.refresh_from_db()
    assert no_secret_in("a-new-long-passphrase-9", "vic-password-1", people.vic.password)


def test_a_refused_password_change_changes_nothing(as_vic, people):
    before = people.vic.password
    as_vic.post(reverse("password_change"), {
        "old_password": "wrong", "new_password1": "a-new-long-passphrase-9", "new_password2": "a-new-long-passphrase-9",
    })
    people.vic.refresh_from_db()
    assert people.vic.password == before and not rows("account.password")


def test_a_sign_in_that_rehashes_the_password_is_not_a_password_change(client, people, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.filter(pk=people.otto.pk).update(password=make_password("otto-password-1", hasher="md5"))
    client.post(reverse("login"), {"username": "otto", "password": "otto-password-1"})
    people.otto.refresh_from_db()
    assert people.otto.password.startswith("pbkdf2_")  # Django upgraded the hash as it signed Otto in
    assert not rows("account.password")


def test_group_membership_changes_are_audited_whichever_side_changes_it(people):
    team_b = Group.objects.create(name="team-b")
    people.vic.groups.add(team_b, people.team_a)
    team_b.user_set.remove(people.vic)
    people.team_a.user_set.add(people.vic)  # already a member: no change, no row
    people.otto.groups.clear()
    got = [(e.details["user"], e.details["added"], e.details["removed"]) for e in rows("account.groups")][-3:]
    assert got == [("vic", ["team-a", "team-b"], []), ("vic", [], ["team-b"]), ("otto", [], ["team-a"])]
    assert rows("group.create")[-1].details == {"group": "team-b"}


def test_joining_or_leaving_the_admin_group_is_an_admin_status_change(people):
    admins = Group.objects.get(name=ADMIN_GROUP)
    people.vic.groups.add(admins)
    admins.user_set.clear()
    got = [(e.details["user"], e.details[ADMIN_GROUP]) for e in rows("account.admin")][-3:]
    assert got[0] == ("vic", [False, True])
    # Clearing the group removes both in the database's order, which PostgreSQL does not promise.
    assert sorted(got[1:]) == [("ada", [True, False]), ("vic", [True, False])]


def test_superuser_and_staff_flags_are_audited(people):
    people.vic.is_superuser = True
    people.vic.is_staff = True
    people.vic.save()
    people.vic.is_active = False
    people.vic.save()
    (admin,) = rows("account.admin", details__user="vic")
    assert admin.details["is_superuser"] == [False, True] and admin.details["is_staff"] == [False, True]
    assert rows("account.active")[-1].details == {"user": "vic", "is_active": [True, False]}


def test_renaming_a_team_to_the_admin_groups_name_is_audited_for_its_members(people):
    Group.objects.filter(name=ADMIN_GROUP).delete()
    assert rows("account.admin")[-1].details == {"user": "ada", ADMIN_GROUP: [True, False]}
    people.team_a.name = ADMIN_GROUP
    people.team_a.save()
    assert rows("group.rename")[-1].details == {"group": ["team-a", ADMIN_GROUP]}
    assert rows("account.admin")[-1].details == {"user": "otto", ADMIN_GROUP: [False, True]}


def test_changes_from_the_command_line_name_the_system_and_the_os_user(people):
    User.objects.create_user("newbie", password="x-long-passphrase-1")
    (event,) = rows("account.create", details__user="newbie")
    assert event.actor_name == "system" and event.source.startswith("cli:")


def test_making_someone_admin_in_the_django_admin_names_the_admin_who_did_it(client, root, people):
    client.force_login(root)
    response = client.post(f"/admin/auth/user/{people.vic.pk}/change/", {
        "username": "vic", "is_active": "on", "is_staff": "on", "is_superuser": "on",
        "groups": [Group.objects.get(name=ADMIN_GROUP).pk], "date_joined_0": "2026-01-01", "date_joined_1": "00:00",
    })
    assert response.status_code == 302, response.content[:600]
    admin_rows = rows("account.admin", details__user="vic")
    assert {e.actor_name for e in admin_rows} == {"ada"}
    assert any(e.details.get(ADMIN_GROUP) == [False, True] for e in admin_rows)
    assert any(e.details.get("is_superuser") == [False, True] for e in admin_rows)
    change = rows("admin.change")[-1]
    assert (change.actor_name, change.details["model"], change.details["object"]) == ("ada", "auth.user", "vic")
    assert "Superuser status" in str(change.details["changes"])


def test_settings_changed_in_the_admin_are_audited(client, root, fleet):
    client.force_login(root)
    team = Group.objects.get(name="team-a")
    client.post(f"/admin/snapshots/host/{fleet.beta.pk}/change/", {"operator_groups": [team.pk]})
    change = rows("admin.change")[-1]
    assert (change.actor_name, change.details["model"], change.details["object"]) == ("ada", "snapshots.host", "beta")
    client.post("/admin/auth/group/add/", {"name": "team-c"})
    assert rows("admin.add")[-1].details["object"] == "team-c"
    group = Group.objects.get(name="team-c")
    client.post("/admin/auth/group/", {"action": "delete_selected", "_selected_action": [group.pk, team.pk],
                                       "post": "yes"})
    assert {e.details["object"] for e in rows("admin.delete")} == {"team-c", "team-a"}
    lone = Group.objects.create(name="team-d")
    client.post(f"/admin/auth/group/{lone.pk}/delete/", {"post": "yes"})
    assert rows("admin.delete")[-1].details["object"] == "team-d" and not Group.objects.filter(pk=lone.pk).exists()


def test_a_non_staff_person_cannot_change_settings_in_the_admin_and_nothing_changes(client, people, fleet):
    client.force_login(people.otto)
    before = list(AuditEvent.objects.values_list("pk", flat=True))
    response = client.post(f"/admin/auth/user/{people.otto.pk}/change/", {"username": "otto", "is_superuser": "on"})
    assert response.status_code == 302 and "/login/" in response.url
    people.otto.refresh_from_db()
    assert not people.otto.is_superuser
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == before


def test_the_admins_sign_in_page_is_cryos_own(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response.url == "/login/?next=%2Fadmin%2F"


def test_a_sign_in_that_cannot_be_audited_does_not_happen(client, people, settings):
    settings.CRYO_AUDIT_STREAM = "file:/dev/full"
    settings.CRYO_AUDIT_FAIL_CLOSED = True
    before = AuditEvent.objects.count()
    response = client.post(reverse("login"), {"username": "otto", "password": "otto-password-1"})
    assert response.status_code == 503
    assert "_auth_user_id" not in client.session and client.get("/").status_code == 302
    assert AuditEvent.objects.count() == before
