"""Sealed archives: what the store holds is the archive encrypted with its own data key, in chunks of AES-256-GCM.

Layout: MAGIC, then records. Every record but the last holds CHUNK bytes of plaintext and its 16-byte tag; the last
holds fewer (possibly none) and is sealed as final. A record's nonce is its index and the final flag, and every
record authenticates MAGIC and the archive's id, so a record changed, moved, dropped or taken from another archive,
a stream cut before its final record or going on after it, all fail as the record is read: no byte of it reaches
the decompressor, let alone the engine. A data key seals one archive only, so nonces never repeat under a key.

Both ends are here: the agent seals while it uploads and opens while it downloads; the store sees only sealed bytes.
"""
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ArchiveRejected

MAGIC = b"CRYOSL01"
CHUNK = 1 << 20
TAG = 16
RECORD = CHUNK + TAG
KEY_BYTES = 32


def _nonce(index, final):
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def _aad(archive_id):
    return MAGIC + uuid.UUID(str(archive_id)).bytes


class Sealer:
    """A binary sink: write plaintext, close (or leave the `with`) to seal the final record into `out`."""

    def __init__(self, out, key, archive_id):
        self.out = out
        self.aead = AESGCM(key)
        self.aad = _aad(archive_id)
        self.index = 0
        self.buffer = bytearray()
        self.closed = False
        out.write(MAGIC)

    def write(self, data):
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            view, done = memoryview(self.buffer), 0
            while len(self.buffer) - done >= CHUNK:
                self._record(view[done:done + CHUNK], final=False)
                done += CHUNK
            view.release()
            del self.buffer[:done]
        return len(data)

    def flush(self):
        if hasattr(self.out, "flush"):
            self.out.flush()

    def close(self):
        if not self.closed:
            self.closed = True
            self._record(bytes(self.buffer), final=True)
            self.buffer = bytearray()
            self.flush()

    def _record(self, plaintext, *, final):
        self.out.write(self.aead.encrypt(_nonce(self.index, final), plaintext, self.aad))
        self.index += 1

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()  # a failed producer leaves the stream without its final record: a reader refuses it


class Opener:
    """`.read(n)` of the plaintext of a sealed stream `raw`; each record is authenticated before it is handed on."""

    def __init__(self, raw, key, archive_id):
        self.raw = raw
        self.aead = AESGCM(key)
        self.aad = _aad(archive_id)
        self.index = 0
        self.current, self.offset = b"", 0  # the plaintext of the record being read, and how far
        self.done = False
        head = self._read_exactly(len(MAGIC))
        if head != MAGIC:
            raise ArchiveRejected("the archive is not a sealed archive (its header is wrong): it was replaced or "
                                  "damaged in the store; refused")

    def _read_exactly(self, n):
        first = self.raw.read(n)
        if len(first) == n or not first:
            return first
        out = bytearray(first)
        while len(out) < n:
            chunk = self.raw.read(n - len(out))
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def _open(self, record, final):
        try:
            return self.aead.decrypt(_nonce(self.index, final), record, self.aad)
        except InvalidTag:
            raise ArchiveRejected(
                f"the sealed archive failed authentication at chunk {self.index}: it was changed, reordered, cut or "
                "is another archive's; refused") from None

    def _next(self):
        """The next record's plaintext (b"" once the final record was read)."""
        if self.done:
            return b""
        record = self._read_exactly(RECORD)
        if len(record) == RECORD:
            plaintext = self._open(record, final=False)
        elif len(record) < TAG:
            raise ArchiveRejected(f"the sealed archive ends before its final chunk (after chunk {self.index}): it was "
                                  "cut; refused")
        else:
            plaintext = self._open(record, final=True)
            self.done = True
            if self.raw.read(1):
                raise ArchiveRejected("the sealed archive carries data after its final chunk; refused")
        self.index += 1
        return plaintext

    def read(self, n=-1):
        """Up to n bytes of plaintext (all the rest for n < 0); b"" at the end, once the final record opened."""
        parts, wanted = [], (1 << 62) if n is None or n < 0 else n
        while wanted:
            if self.offset >= len(self.current):
                self.current, self.offset = self._next(), 0
                if not self.current:
                    break  # the end (the only record that may hold nothing is the final one)
            piece = self.current[self.offset:self.offset + wanted]
            self.offset += len(piece)
            wanted -= len(piece)
            parts.append(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)


def split_records(stored):
    """(header, [records]) of a sealed stream, for tests that move records about."""
    head, body = stored[:len(MAGIC)], stored[len(MAGIC):]
    return head, [body[i:i + RECORD] for i in range(0, len(body), RECORD)]


def sealing(produce, key, archive_id):
    """Wrap a producer `produce(out)` (archive.pack and its kind) so that what it writes to `out` is sealed."""
    def sealed_produce(out):
        with Sealer(out, key, archive_id) as sink:
            return produce(sink)
    return sealed_produce
