"""Inside a checkpoint: its page, `cryo inspect` and the API show what its agent read from its CRIU images; the
dashboard only shows what was reported. Pinning from the command line is permission-checked."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from snapshots.jobs import checkpoint_contents
from snapshots.models import Checkpoint

from .conftest import make_checkpoint

REPORT = {
    "criu_version": "4.2.1", "kernel": "Linux 6.18.44", "images_version": 2,
    "processes": [{"pid": 1, "ppid": 0, "pgid": 1, "sid": 1, "threads": 1, "comm": "sh", "state": "Alive",
                   "cmdline": "sh -c i=0; while true; do i=$((i+1)); echo $i; sleep 1; done"},
                  {"pid": 7, "ppid": 1, "pgid": 1, "sid": 1, "threads": 1, "comm": "sleep", "state": "Alive",
                   "cmdline": "sleep 1"}],
    "memory": {"pages": 58, "bytes": 237568, "pages_written": 58, "pages_scanned": 102},
    "stats": {"freezing_time": 11010, "frozen_time": 38110, "memdump_time": 18838, "memwrite_time": 254},
    "files": [{"pid": 1, "fd": 1, "type": "PIPE", "what": "pipe 4242"}],
    "sockets": [{"pid": 1, "fd": 3, "type": "INETSK", "what": "INET TCP 0.0.0.0:8080 listening"}],
    "mounts": [{"mountpoint": "/", "fstype": "", "fsname": "overlay", "source": "overlay", "root": "/"}],
}


@pytest.fixture
def held(fleet):
    checkpoint = make_checkpoint(fleet.web, "web-1-held")
    Checkpoint.objects.filter(pk=checkpoint.pk).update(contents=checkpoint_contents.clean(REPORT))
    return checkpoint


def test_the_inside_page_shows_processes_memory_timing_files_and_mounts(client, people, held, fleet):
    client.force_login(people.vic)  # reading is open to every signed-in person
    page = client.get(reverse("checkpoint-inside", args=[fleet.web.pk, "web-1-held"])).content.decode()
    for text in ("while true; do i=$((i+1))", "sleep 1", "58 (232.0\xa0KB)", "Frozen", "38.1 ms",
                 "INET TCP 0.0.0.0:8080 listening", "pipe 4242", "overlay", "4.2.1", "Linux 6.18.44",
                 "Docker 27.5.1"):
        assert text in page, text


def test_a_checkpoint_that_was_not_read_says_so(as_otto, fleet):
    make_checkpoint(fleet.web, "web-1-found")
    page = as_otto.get(reverse("checkpoint-inside", args=[fleet.web.pk, "web-1-found"])).content.decode()
    assert "Not read" in page


def test_an_unreadable_checkpoint_shows_the_agents_reason(as_otto, fleet):
    checkpoint = make_checkpoint(fleet.web, "web-1-broken")
    Checkpoint.objects.filter(pk=checkpoint.pk).update(contents={"error": "inventory.img is missing"})
    page = as_otto.get(reverse("checkpoint-inside", args=[fleet.web.pk, "web-1-broken"])).content.decode()
    assert "inventory.img is missing" in page


def test_an_unknown_checkpoint_is_not_found(as_otto, fleet):
    assert as_otto.get(reverse("checkpoint-inside", args=[fleet.web.pk, "nope"])).status_code == 404


def test_the_container_page_links_each_checkpoint_to_its_inside(as_otto, held, fleet):
    page = as_otto.get(reverse("container", args=[fleet.web.pk])).content.decode()
    assert reverse("checkpoint-inside", args=[fleet.web.pk, "web-1-held"]) in page


def test_cryo_inspect_prints_what_the_checkpoint_holds(held, people):
    out = StringIO()
    call_command("cryo", "--as", "vic", "inspect", "alpha", "web-1", "web-1-held", stdout=out)
    said = out.getvalue()
    assert "CRIU 4.2.1" in said and "sleep 1" in said and "58 pages dumped" in said and "frozen 38.1 ms" in said
    assert "INET TCP 0.0.0.0:8080 listening" in said


def test_pinning_from_the_command_line_is_for_operators(held, people):
    with pytest.raises(CommandError, match="may not"):
        call_command("cryo", "--as", "vic", "pin", "alpha", "web-1", "web-1-held", stdout=StringIO())
    assert not Checkpoint.objects.get(pk=held.pk).pinned
    call_command("cryo", "--as", "otto", "pin", "alpha", "web-1", "web-1-held", stdout=StringIO())
    assert Checkpoint.objects.get(pk=held.pk).pinned
    call_command("cryo", "--as", "otto", "unpin", "alpha", "web-1", "web-1-held", stdout=StringIO())
    assert not Checkpoint.objects.get(pk=held.pk).pinned
