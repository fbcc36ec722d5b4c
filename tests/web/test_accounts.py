import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = ["/", "/hosts/alpha/", "/jobs/", "/audit/", "/search/?q=web", "/password/"]


def test_the_sign_in_page_has_a_sign_in_button(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'<button type="submit" class="primary">Sign in</button>' in response.content


def test_signing_in_leads_to_the_overview(client, people):
    response = client.post(reverse("login"), {"username": "otto", "password": "otto-password-1"})
    assert response.status_code == 302 and response.url == reverse("overview")


def test_a_wrong_password_is_refused_with_a_message(client, people):
    response = client.post(reverse("login"), {"username": "otto", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


@pytest.mark.parametrize("url", PAGES)
def test_every_page_sends_strangers_to_sign_in(client, fleet, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login") + "?next=")


def test_a_stranger_cannot_export_the_audit_log(client, fleet):
    response = client.post("/audit/export.csv")
    assert response.status_code == 302 and response.url.startswith(reverse("login") + "?next=")


def test_an_htmx_request_from_an_expired_session_redirects_the_whole_page(client, fleet):
    response = client.get("/jobs/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"].startswith(reverse("login"))


def test_signing_out_ends_the_session(as_vic):
    response = as_vic.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert as_vic.get("/").status_code == 302


def test_a_person_changes_their_password(as_vic, people):
    response = as_vic.post(reverse("password_change"), {
        "old_password": "vic-password-1",
        "new_password1": "a-new-long-passphrase-9", "new_password2": "a-new-long-passphrase-9",
    })
    assert response.status_code == 302 and response.url == reverse("password_change_done")
    people.vic.refresh_from_db()
    assert people.vic.check_password("a-new-long-passphrase-9")


def test_every_page_shows_who_is_signed_in_and_their_role(as_otto, fleet):
    content = as_otto.get("/").content.decode()
    assert "otto" in content and '<span class="role">Operator</span>' in content
