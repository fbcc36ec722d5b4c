"""How a webhook body is signed, and how a receiver checks it.

Headers: X-Cryo-Timestamp (Unix seconds of this attempt) and X-Cryo-Signature: sha256=<hex of
HMAC-SHA256(secret, "<timestamp>." + body)>. A receiver recomputes it over the raw body, compares in constant time,
and refuses timestamps older than a few minutes, so a captured request cannot be replayed later.
"""
import hashlib
import hmac
import time

TIMESTAMP = "X-Cryo-Timestamp"
SIGNATURE = "X-Cryo-Signature"
TOLERANCE = 300


def signature(secret, timestamp, body):
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def headers(secret, body, now=None):
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP: timestamp, SIGNATURE: signature(secret, timestamp, body)}


def verify(secret, body, timestamp, given, now=None, tolerance=TOLERANCE):
    """True when `given` signs `body` at `timestamp` with `secret` and the timestamp is recent."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), given or "")
