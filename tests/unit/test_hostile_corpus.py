"""Every archive of the hostile corpus (tests/unit/hostile_archives.py, generated) is refused with a clear reason,
and nothing is written outside its target nor left behind in it.

The table of classes and outcomes is tests/unit/hostile_archives.md (`python -m tests.unit.hostile_archives`).
"""
import re

import pytest

from .hostile_archives import CASES, FILES, run


def test_the_corpus_holds_at_least_fifty_archives_of_every_class_asked_for():
    classes = {c.klass for c in CASES}
    assert len(CASES) >= 50
    assert {"traversal", "absolute path", "symbolic link", "hard link", "device or FIFO", "huge header",
            "decompression bomb", "truncation", "trailing garbage", "wrong hash", "another container or checkpoint",
            "old archive replayed"} <= classes


@pytest.mark.parametrize("case", CASES, ids=[f"{c.unpacker}: {c.klass}: {c.name}" for c in CASES])
def test_a_hostile_archive_is_refused_with_a_reason_and_leaves_nothing_behind(tmp_path, case):
    refusal, left, _size = run(case, tmp_path)
    assert refusal is not None, f"{case.name} was accepted"
    assert re.search(case.reason, refusal), refusal
    assert left == [], f"left behind: {left}"
    assert list((tmp_path / "outside").iterdir()) == []
    if case.unpacker == FILES:
        assert list((tmp_path / "target").iterdir()) == [], "the new container's layer is not empty again"
    else:
        assert not (tmp_path / "target").exists(), "the target directory was not removed"
