"""Archive data keys, held by the dashboard: one random key per archive, kept wrapped (AES-256-GCM) by the key-
encryption key from the environment (CRYO_STORE_KEK, base64 of 32 bytes), bound to the archive's id so a wrapped
key moved to another row does not open. A copy of the store, or of the store and the database without the
environment, opens nothing.

Rotation: start the dashboard with the new key in CRYO_STORE_KEK and the old one in CRYO_STORE_KEK_PREVIOUS, run
`manage.py cryo store-key rotate` (rewraps every key), then drop CRYO_STORE_KEK_PREVIOUS.
"""
import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction

from .errors import CryoError


NONCE = 12
KEY_BYTES = 32  # AES-256, as snapshots/host/sealed.py seals with


class KeyUnavailable(CryoError):
    """The archive's key cannot be unwrapped (destroyed, or wrapped by a key-encryption key not configured)."""


def kek_id(kek):
    return hashlib.sha256(b"cryo-store-kek:" + kek).hexdigest()[:16]


def _keks():
    """{id: key} of the key-encryption keys configured: the current one, and the previous one during a rotation."""
    found = {}
    for value in (settings.CRYO_STORE_KEK, settings.CRYO_STORE_KEK_PREVIOUS):
        if value:
            found[kek_id(value)] = value
    return found


def _aad(archive_id):
    return b"cryo-archive-key:" + archive_id.bytes


def wrap(archive_id, data_key, kek=None):
    kek = kek or settings.CRYO_STORE_KEK
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, _aad(archive_id)), kek_id(kek)


def new_key(archive):
    """Give a new archive row its own random data key, wrapped (not saved here)."""
    archive.wrapped_key, archive.key_id = wrap(archive.id, AESGCM.generate_key(bit_length=KEY_BYTES * 8))


def unwrap(archive):
    """The archive's data key, or None for an archive stored before sealing."""
    if not archive.wrapped_key:
        if archive.key_id:
            raise KeyUnavailable(f"the key of archive {archive.id} was destroyed")
        return None
    kek = _keks().get(archive.key_id)
    if kek is None:
        raise KeyUnavailable(f"archive {archive.id} is wrapped by key-encryption key {archive.key_id}, which is "
                             "not configured (CRYO_STORE_KEK, CRYO_STORE_KEK_PREVIOUS)")
    blob = bytes(archive.wrapped_key)
    try:
        return AESGCM(kek).decrypt(blob[:NONCE], blob[NONCE:], _aad(archive.id))
    except InvalidTag:
        raise KeyUnavailable(f"the wrapped key of archive {archive.id} does not open: it was changed or moved") \
            from None


def rotate():
    """Rewrap every data key not wrapped by the current key-encryption key; returns (rewrapped, unreadable ids)."""
    from .models import Archive

    current = kek_id(settings.CRYO_STORE_KEK)
    done, unreadable = 0, []
    stale = Archive.objects.exclude(wrapped_key=None).exclude(key_id=current).values_list("pk", flat=True)
    for pk in stale.iterator():
        with transaction.atomic():
            archive = Archive.objects.select_for_update().get(pk=pk)
            if not archive.wrapped_key or archive.key_id == current:
                continue
            try:
                key = unwrap(archive)
            except KeyUnavailable:
                unreadable.append(str(archive.pk))
                continue
            archive.wrapped_key, archive.key_id = wrap(archive.id, key)
            archive.save(update_fields=["wrapped_key", "key_id"])
            done += 1
    return done, unreadable


def encoded(key):
    return base64.b64encode(key).decode() if key else None
