"""Sign-in as teams expect, tried as an attacker would: guessing passwords locks the account and the address out
(site and admin alike); idle and old sessions end; a second factor, once set up, cannot be skipped, reused or
quietly removed; an admin can require it."""
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from dashboard import sign_in
from dashboard.web.accounts import PENDING
from snapshots.models import AuditEvent

pytestmark = pytest.mark.django_db


def attempt(client, username, password, next_url=""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def signed_in(client):
    return "_auth_user_id" in client.session


def rows(action, **where):
    return list(AuditEvent.objects.filter(action=action, **where).order_by("seq"))


# -- throttling and lockout -------------------------------------------------------------------------------------
def test_guessing_a_password_locks_the_account_even_for_the_right_password(client, people, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = attempt(client, "otto", f"guess-{i}")
    assert response.status_code == 429
    response = attempt(client, "otto", "otto-password-1")
    assert response.status_code == 429 and "Sign-in is locked" in response.content.decode()
    assert not signed_in(client)
    assert rows("auth.login", outcome="denied")[-1].details["user"] == "otto"
    assert not rows("auth.login", outcome="succeeded")


def test_the_admins_sign_in_is_the_same_locked_sign_in(client, people, settings):
    people.ada.is_staff = people.ada.is_superuser = True
    people.ada.save()
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "ada", f"guess-{i}", next_url="/admin/")
    assert client.get("/admin/login/?next=/admin/").url.startswith("/login/")
    assert attempt(client, "ada", "ada-password-1", next_url="/admin/").status_code == 429
    assert client.get("/admin/").status_code == 302 and not signed_in(client)


def test_spraying_passwords_over_many_names_locks_the_address(client, people, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"user-{i}", "Winter2026!")
    assert attempt(client, "vic", "vic-password-1").status_code == 429
    assert not signed_in(client)


def test_the_lockout_lifts_after_the_cool_off(client, people, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "otto", f"guess-{i}")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
    assert attempt(client, "otto", "otto-password-1").status_code == 302 and signed_in(client)


def test_a_right_password_resets_the_count_of_failures(client, people, settings):
    for _ in range(2):
        for i in range(settings.AXES_FAILURE_LIMIT - 1):
            attempt(client, "otto", f"guess-{i}")
        assert attempt(client, "otto", "otto-password-1").status_code == 302
        client.post(reverse("logout"))


# -- session limits ---------------------------------------------------------------------------------------------
def age(client, **seconds_ago):
    session = client.session
    now = int(time.time())
    for key, ago in seconds_ago.items():
        session[{"seen": sign_in.SEEN, "started": sign_in.STARTED}[key]] = now - ago
    session.save()


def test_an_idle_session_ends_and_the_sign_out_is_audited(as_vic, settings):
    age(as_vic, seen=settings.CRYO_SESSION_IDLE_TIMEOUT + 5)
    response = as_vic.get("/jobs/")
    assert response.status_code == 302 and response.url == "/login/?next=%2Fjobs%2F"
    assert not signed_in(as_vic) and as_vic.get("/").status_code == 302
    assert rows("auth.logout")[-1].details["reason"].startswith("idle for more than")


def test_an_idle_session_ends_for_htmx_too(as_vic, settings):
    age(as_vic, seen=settings.CRYO_SESSION_IDLE_TIMEOUT + 5)
    response = as_vic.get("/jobs/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith("/login/") and not signed_in(as_vic)


def test_a_pages_own_polling_does_not_keep_a_session_alive(as_vic):
    age(as_vic, seen=120)
    before = as_vic.session[sign_in.SEEN]
    as_vic.get("/", HTTP_HX_REQUEST="true", HTTP_X_CRYO_POLL="1")
    assert as_vic.session[sign_in.SEEN] == before
    as_vic.get("/")
    assert as_vic.session[sign_in.SEEN] > before


def test_a_session_ends_at_its_maximum_age_even_when_busy(as_vic, settings):
    age(as_vic, seen=1, started=settings.CRYO_SESSION_MAX_AGE + 5)
    assert as_vic.get("/").status_code == 302 and not signed_in(as_vic)
    assert rows("auth.logout")[-1].details["reason"] == "session too old"


def test_polling_pages_mark_their_requests_as_polls(as_vic, fleet):
    job = fleet.checkpoint_job()
    assert "X-Cryo-Poll" in as_vic.get(f"/jobs/{job.id}/").content.decode()
    assert "X-Cryo-Poll" in as_vic.get("/").content.decode()


# -- second factor ----------------------------------------------------------------------------------------------
def code(device, steps_ahead=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol(client):
    client.post(reverse("second-factor-start"))
    device = TOTPDevice.objects.get(confirmed=False)
    client.post(reverse("second-factor-confirm"), {"code": code(device)})
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_a_person_sets_up_a_second_factor_from_the_account_page(as_otto, people):
    page = as_otto.get(reverse("account")).content.decode()
    assert "Set up two-factor sign-in" in page
    as_otto.post(reverse("second-factor-start"))
    device = TOTPDevice.objects.get(user=people.otto)
    before = TOTPDevice.objects.values_list().get()
    page = as_otto.get(reverse("account")).content.decode()
    assert "<svg" in page and device.config_url.split("secret=")[1].split("&")[0] in page
    assert TOTPDevice.objects.values_list().get() == before  # showing the secret wrote nothing
    as_otto.post(reverse("second-factor-confirm"), {"code": "000000" if code(device) != "000000" else "111111"})
    device.refresh_from_db()
    assert not device.confirmed
    device = enrol(as_otto)
    assert rows("account.second_factor")[-1].details == {"user": "otto", "change": "turned on"}
    assert as_otto.get("/").status_code == 200  # this session proved the code
    assert "On: signing in" in as_otto.get(reverse("account")).content.decode()


def test_with_a_second_factor_the_password_alone_does_not_sign_in(client, people):
    client.force_login(people.otto)
    device = enrol(client)
    client.post(reverse("logout"))
    response = attempt(client, "otto", "otto-password-1")
    assert response.status_code == 302 and response.url == reverse("login-code")
    assert not signed_in(client) and client.get("/").status_code == 302
    response = client.post(reverse("login-code"), {"code": "123456" if code(device, 1) != "123456" else "654321"})
    assert response.status_code == 422 and not signed_in(client)
    failed = rows("auth.login", outcome="failed")[-1]
    assert (failed.details["user"], failed.details["reason"]) == ("otto", "wrong authenticator code")
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    response = client.post(reverse("login-code"), {"code": code(device, 1)})
    assert response.status_code == 302 and signed_in(client)
    assert rows("auth.login", outcome="succeeded")[-1].details["method"] == "password+totp"


def test_a_used_code_cannot_be_used_again(client, people):
    client.force_login(people.otto)
    device = enrol(client)
    client.post(reverse("logout"))
    used = code(device)  # the code that turned it on
    attempt(client, "otto", "otto-password-1")
    assert client.post(reverse("login-code"), {"code": used}).status_code == 422 and not signed_in(client)


def test_guessing_codes_locks_the_account(client, people, settings):
    client.force_login(people.otto)
    device = enrol(client)
    client.post(reverse("logout"))
    attempt(client, "otto", "otto-password-1")
    wrong = "000000" if code(device, 1) != "000000" else "111111"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login-code"), {"code": wrong})
    assert response.status_code == 429
    assert PENDING not in client.session
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert attempt(client, "otto", "otto-password-1").status_code == 429 and not signed_in(client)


def test_a_pending_sign_in_expires(client, people):
    client.force_login(people.otto)
    device = enrol(client)
    client.post(reverse("logout"))
    attempt(client, "otto", "otto-password-1")
    session = client.session
    session[PENDING] = {**session[PENDING], "at": int(time.time()) - 3600}
    session.save()
    response = client.post(reverse("login-code"), {"code": code(device, 1)})
    assert response.status_code == 302 and response.url == reverse("login") and not signed_in(client)


def test_a_session_that_never_proved_the_second_factor_is_ended(client, people):
    TOTPDevice.objects.create(user=people.otto, name="phone", confirmed=True)
    client.force_login(people.otto)  # as if signed in before the second factor was set up elsewhere
    response = client.get("/")
    assert response.status_code == 302 and not signed_in(client)
    assert rows("auth.logout")[-1].details["reason"] == "second factor not proven"


def test_turning_it_off_needs_a_current_code(as_otto, people):
    device = enrol(as_otto)
    as_otto.post(reverse("second-factor-remove"), {"code": "000000" if code(device, 1) != "000000" else "111111"})
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    assert rows("account.second_factor", outcome="denied")[-1].details["change"] == "turn off refused: wrong code"
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    as_otto.post(reverse("second-factor-remove"), {"code": code(device, 1)})
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert rows("account.second_factor")[-1].details["change"] == "turned off"


def test_when_required_a_person_without_one_can_only_set_it_up(as_vic, settings):
    settings.CRYO_REQUIRE_SECOND_FACTOR = True
    for url in ("/", "/jobs/", "/audit/"):
        response = as_vic.get(url)
        assert response.status_code == 302 and response.url == reverse("account"), url
    assert as_vic.get("/jobs/", HTTP_HX_REQUEST="true")["HX-Redirect"] == reverse("account")
    assert as_vic.get(reverse("account")).status_code == 200
    enrol(as_vic)
    assert as_vic.get("/jobs/").status_code == 200


def test_when_required_it_cannot_be_turned_off(as_otto, settings):
    device = enrol(as_otto)
    settings.CRYO_REQUIRE_SECOND_FACTOR = True
    as_otto.post(reverse("second-factor-remove"), {"code": code(device, 1)})
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert rows("account.second_factor", outcome="denied")[-1].details["change"].startswith("turn off refused")


def test_an_admin_can_remove_a_lost_one_but_never_see_its_secret(client, people):
    TOTPDevice.objects.create(user=people.otto, name="phone", confirmed=True)
    device = TOTPDevice.objects.get()
    people.ada.is_staff = people.ada.is_superuser = True
    people.ada.save()
    client.force_login(people.ada)
    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").content.decode()
    assert device.key not in page and "secret=" not in page
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code in (302, 404)
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code in (302, 404)
    client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert not TOTPDevice.objects.exists()
    assert rows("admin.delete")[-1].details["model"] == "otp_totp.totpdevice"
