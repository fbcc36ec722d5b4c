"""Typed, loud readers for environment variables.

Every setting of Cryo comes from the environment through these helpers, so that a
typo in a value stops the process at start instead of misbehaving later.
"""
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name, default=None, *, secret=False):
    """A string; for secrets, NAME_FILE may name a file that holds the value."""
    if secret and os.environ.get(f"{name}_FILE"):
        path = os.environ[f"{name}_FILE"]
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path}: cannot read it ({exc.strerror})") from exc
    return os.environ.get(name, default)


def envbool(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false")


def envint(name, default, *, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def envlist(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def envkey(name, default=None):
    """A 32-byte key given as base64 (NAME, or the file NAME_FILE); None when unset. Anything else fails loudly."""
    import base64
    import binascii

    raw = envstr(name, default, secret=True)
    if not raw:
        return None
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must be the base64 of 32 random bytes, e.g. from "
                                   "python -c 'import os, base64; print(base64.b64encode(os.urandom(32)).decode())'")
    return key
