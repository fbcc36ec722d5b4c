"""Sealed archives (snapshots/host/sealed.py): chunked AES-256-GCM that opens only whole, in order, unchanged and
for its own archive, record by record as it streams."""
import hashlib
import io
import os

import pytest

from snapshots.errors import ArchiveRejected
from snapshots.host import archive, sealed

KEY, OTHER_KEY = bytes(range(32)), bytes(32)
ARCHIVE, OTHER_ARCHIVE = "3f1b6f0e-8d4c-4f57-9a51-6f7d2a1c9e01", "3f1b6f0e-8d4c-4f57-9a51-6f7d2a1c9e02"


def seal(data, key=KEY, archive_id=ARCHIVE, pieces=7919):
    out = io.BytesIO()
    with sealed.Sealer(out, key, archive_id) as sink:
        for i in range(0, len(data), pieces):
            sink.write(data[i:i + pieces])
    return out.getvalue()


def opened(stored, key=KEY, archive_id=ARCHIVE):
    return sealed.Opener(io.BytesIO(stored), key, archive_id).read()


@pytest.mark.parametrize("size", [0, 1, sealed.CHUNK - 1, sealed.CHUNK, sealed.CHUNK + 1, 3 * sealed.CHUNK])
def test_what_is_sealed_opens_byte_for_byte_at_every_size_around_a_chunk(size):
    data = os.urandom(size)
    stored = seal(data)
    assert opened(stored) == data
    assert len(stored) == len(sealed.MAGIC) + size + (size // sealed.CHUNK + 1) * sealed.TAG


@pytest.mark.parametrize("change,reason", [
    (lambda s: s[:len(s) // 2], r"authentication|ends before"),
    (lambda s: s[:len(sealed.MAGIC) + 2 * sealed.RECORD], r"ends before its final chunk"),
    (lambda s: s + b"\0", r"authentication at chunk 2"),
    (lambda s: s + s[len(sealed.MAGIC):len(sealed.MAGIC) + sealed.RECORD], r"authentication at chunk 2"),
    (lambda s: s[:100] + bytes([s[100] ^ 1]) + s[101:], r"authentication at chunk 0"),
    (lambda s: s[:len(sealed.MAGIC)] + s[len(sealed.MAGIC) + sealed.RECORD:2 * sealed.RECORD + len(sealed.MAGIC)]
     + s[len(sealed.MAGIC):len(sealed.MAGIC) + sealed.RECORD] + s[len(sealed.MAGIC) + 2 * sealed.RECORD:],
     r"authentication at chunk 0"),
    (lambda s: b"CRYOSL02" + s[8:], r"not a sealed archive"),
])
def test_a_changed_cut_reordered_or_extended_archive_does_not_open(change, reason):
    stored = seal(os.urandom(2 * sealed.CHUNK + 5))
    with pytest.raises(ArchiveRejected, match=reason):
        opened(change(stored))


def test_an_archive_opens_only_with_its_own_key_and_as_its_own_archive():
    stored = seal(b"memory")
    with pytest.raises(ArchiveRejected, match="authentication"):
        opened(stored, key=OTHER_KEY)
    with pytest.raises(ArchiveRejected, match="authentication"):
        opened(stored, archive_id=OTHER_ARCHIVE)


def test_a_producer_that_fails_leaves_no_final_chunk_so_a_reader_refuses_what_was_sent():
    out = io.BytesIO()
    with pytest.raises(RuntimeError):
        with sealed.Sealer(out, KEY, ARCHIVE) as sink:
            sink.write(os.urandom(sealed.CHUNK + 10))
            raise RuntimeError("the packer failed")
    with pytest.raises(ArchiveRejected, match="ends before its final chunk"):
        opened(out.getvalue())


def test_opening_streams_record_by_record_without_reading_the_whole_archive_first():
    stored = seal(os.urandom(8 * sealed.CHUNK))

    class Counting(io.BytesIO):
        consumed = 0

        def read(self, n=-1):
            data = super().read(n)
            Counting.consumed += len(data)
            return data

    raw = Counting(stored)
    first = sealed.Opener(raw, KEY, ARCHIVE).read(4096)
    assert len(first) == 4096 and Counting.consumed <= len(sealed.MAGIC) + sealed.RECORD


def test_a_checkpoint_packed_sealed_and_unpacked_is_the_same_and_its_digest_is_of_the_sealed_bytes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "pages-1.img").write_bytes(b"SECRET" * 400_000)
    stored = b"".join(archive.stream(sealed.sealing(lambda out: archive.pack(src, out), KEY, ARCHIVE)))
    assert b"SECRET" not in stored
    done = archive.unpack(io.BytesIO(stored), tmp_path / "dest", expected_sha256=hashlib.sha256(stored).hexdigest(),
                          decrypt=lambda raw: sealed.Opener(raw, KEY, ARCHIVE))
    assert (tmp_path / "dest" / "pages-1.img").read_bytes() == b"SECRET" * 400_000
    assert done["archive_bytes"] == len(stored)
