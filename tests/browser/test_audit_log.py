"""The audit log shows a checkpoint and a restore with the actor; its CSV export downloads and parses."""
import csv

import pytest
from playwright.sync_api import expect

from snapshots.services import Origin

from ..harness.engine import wait_for_ticks
from ..harness.jobs import succeeded
from ..harness import ask
from .conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def test_the_audit_log_shows_both_operations_with_the_actor_and_exports_csv(page, people, host_a, counter_a):
    engine_container, row = counter_a
    wait_for_ticks(engine_container, 3)
    origin = Origin(source="192.0.2.7")
    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="audited-1", origin=origin))
    from ..conftest import synced_container

    synced_container(host_a, engine_container, state="exited")
    succeeded(ask.restore(people.otto, host_a.name, row.name, "audited-1", origin=origin))

    sign_in(page, "ada", "ada-password-1")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Actor").fill("otto")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tr.audit-row")
    expect(rows).to_have_count(4)
    for action in ("checkpoint", "restore"):
        for outcome in ("Requested", "Succeeded"):
            expect(rows.filter(has_text=action).filter(has_text=outcome)).to_have_count(1)
    expect(rows.first).to_contain_text("otto")
    screenshot(page, "audit")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("cryo-audit-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="", encoding="utf-8") as fh:
        exported = list(csv.DictReader(fh))
    assert [(r["actor_name"], r["action"], r["outcome"]) for r in exported] == [
        ("otto", "restore", "succeeded"), ("otto", "restore", "requested"),
        ("otto", "checkpoint", "succeeded"), ("otto", "checkpoint", "requested"),
    ]
    assert {r["checkpoint_name"] for r in exported} == {"audited-1"}
    assert {r["container_name"] for r in exported} == {row.name}
    assert {r["source"] for r in exported} == {"192.0.2.7"}
