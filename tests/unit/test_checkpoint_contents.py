"""Reading what a checkpoint holds: a process's command line from its dumped pages (located through its pagemap),
open files described from CRIU's entries, and the dashboard's check of what an agent reported."""
from pathlib import Path

from snapshots.host import contents
from snapshots.jobs import checkpoint_contents

PAGE = contents.PAGE_SIZE


class FakeReader:
    """CRIU's image entries for one process, as pycriu gives them (pretty), over a real pages file."""

    def __init__(self, folder, images):
        self.folder, self.images = Path(folder), images

    def entries(self, name, missing_ok=True):
        return self.images.get(name, [])


def test_the_command_line_is_read_from_the_pages_its_pagemap_locates(tmp_path):
    # Two present regions: 0x1000 (1 page) and 0x5000 (2 pages); a lazy-only one in between is not in the file.
    args = b"counter\0--every\0001s\0"
    pages = bytearray(3 * PAGE)
    pages[PAGE + 0x10: PAGE + 0x10 + len(args)] = args  # the second region's first page, at 0x5010
    (tmp_path / "pages-7.img").write_bytes(bytes(pages))
    reader = FakeReader(tmp_path, {
        "pagemap-42.img": [{"pages_id": 7},
                           {"vaddr": "0x1000", "nr_pages": 1, "flags": "PE_PRESENT"},
                           {"vaddr": "0x3000", "nr_pages": 1, "flags": "PE_LAZY"},
                           {"vaddr": "0x5000", "nr_pages": 2, "flags": "PE_LAZY | PE_PRESENT"}],
        "mm-42.img": [{"mm_arg_start": "0x5010", "mm_arg_end": hex(0x5010 + len(args))}],
    })
    memory = contents.Memory(reader, 42)
    assert memory.page_count() == 3
    assert memory.cmdline() == "counter --every 1s"


def test_memory_that_was_not_dumped_reads_as_nothing(tmp_path):
    (tmp_path / "pages-1.img").write_bytes(b"\0" * PAGE)
    reader = FakeReader(tmp_path, {"pagemap-5.img": [{"pages_id": 1}, {"vaddr": "0x1000", "nr_pages": 1,
                                                                       "flags": "PE_PRESENT"}],
                                   "mm-5.img": [{"mm_arg_start": "0x9000", "mm_arg_end": "0x9010"}]})
    assert contents.Memory(reader, 5).cmdline() == ""


def test_open_files_and_sockets_are_described_from_criu_entries():
    assert contents.describe_file({"reg": {"name": "/data/count"}}, "REG") == "/data/count"
    listening = {"isk": {"family": "INET", "proto": "TCP", "src_addr": ["0.0.0.0"], "src_port": 8080,
                         "state": "LISTEN"}}
    assert contents.describe_file(listening, "INETSK") == "INET TCP 0.0.0.0:8080 listening"
    assert contents.describe_file({"usk": {"type": "STREAM", "name": ""}}, "UNIXSK") == "unix STREAM (unnamed)"
    assert contents.describe_file(None, "EVENTFD") == "EVENTFD"


def test_a_checkpoint_without_images_says_why(tmp_path):
    held = contents.read(tmp_path)
    assert "error" in held and "inventory.img is missing" in held["error"]


def test_the_dashboard_keeps_only_known_fields_of_the_right_type():
    report = {
        "criu_version": "4.2.1", "kernel": "Linux 6.1", "images_version": 2, "surprise": "dropped",
        "processes": [{"pid": 1, "ppid": 0, "comm": "counter", "cmdline": "counter", "threads": "many", "evil": 1},
                      "not a row"],
        "memory": {"pages": 10, "bytes": 40960, "extra": 1},
        "stats": {"frozen_time": 1234, "freezing_time": "soon"},
        "sockets": [{"pid": 1, "fd": 3, "type": "INETSK", "what": "INET TCP 0.0.0.0:80 listening"}],
    }
    held = checkpoint_contents.clean(report)
    assert "surprise" not in held
    assert held["processes"] == [{"pid": 1, "ppid": 0, "pgid": None, "sid": None, "threads": None, "comm": "counter",
                                  "state": "", "cmdline": "counter"}]
    assert held["memory"] == {"pages": 10, "bytes": 40960}
    assert held["stats"] == {"frozen_time": 1234}
    assert checkpoint_contents.clean("nonsense") == {}
    assert checkpoint_contents.clean({"error": "x" * 900}) == {"error": "x" * 500}
