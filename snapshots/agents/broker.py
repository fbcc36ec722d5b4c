"""Each host's own broker user: it can consume its own queue and nothing else; only the dashboard side publishes.

The dashboard connects to Redis as an administrator (CRYO_BROKER_URL) and keeps one ACL user per host, whose
keys are the host's queue, its unacknowledged-message bookkeeping and its exchange binding. The user's password
is derived from the host's credential, so it changes when the credential is rotated and dies with it, and it is
handed to the agent only through the worker API, never written to the host's disk.
"""
import hashlib
import hmac
import logging
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from django.conf import settings

log = logging.getLogger(__name__)

# What kombu's Redis transport needs to consume a queue, acknowledge late and put back what it did not finish
# (its lock on the unacknowledged set is a Lua script; Redis checks every command a script runs against the
# same rights, so scripts reach no other key).
COMMANDS = (
    "brpop", "lpush", "rpush", "llen", "sadd", "smembers", "srem", "sismember", "zadd", "zrem", "zrange",
    "zrangebyscore", "zrevrange", "zrevrangebyscore", "zcard", "hset", "hget", "hdel", "set", "get", "del",
    "exists", "pexpire", "expire", "multi", "exec", "watch", "unwatch", "discard", "ping", "select", "auth",
    "client|setname", "client|id", "evalsha", "eval", "script|load",
)
TIMEOUT = 3  # seconds: a frozen broker answers nobody's request for longer than this


def admin():
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)


def username(host_name):
    return f"cryo-host-{host_name}"


def keys(queue):
    """Every key a host's consumer touches (see transport_options)."""
    return [queue, f"{queue}.unacked", f"{queue}.unacked_index", f"{queue}.unacked_mutex", f"_kombu.binding.{queue}",
            f"_kombu.binding_permanent.{queue}"]


def transport_options(queue):
    """The kombu options both sides use: one priority level (one key per queue) and per-queue unacked keys."""
    return {
        "priority_steps": [0],
        "unacked_key": f"{queue}.unacked",
        "unacked_index_key": f"{queue}.unacked_index",
        "unacked_mutex_key": f"{queue}.unacked_mutex",
        "visibility_timeout": settings.CRYO_ENGINE_TIMEOUT * 4,
        "socket_timeout": 10,
        "socket_connect_timeout": TIMEOUT,
    }


def password(credential):
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, f"cryo-broker:{credential.token_hash}".encode(), hashlib.sha256).hexdigest()


def ensure(host, credential):
    """Create or reset the host's broker user with exactly its rights."""
    rules = ["reset", "on", f">{password(credential)}", *(f"~{k}" for k in keys(host.queue)), "resetchannels",
             "-@all", *(f"+{c}" for c in COMMANDS)]
    admin().execute_command("ACL", "SETUSER", username(host.name), *rules)


def remove(host_name):
    """Delete the host's broker user and close its connections at once."""
    client = admin()
    name = username(host_name)
    try:
        client.execute_command("ACL", "DELUSER", name)
        client.execute_command("CLIENT", "KILL", "USER", name)
    except redis.exceptions.ResponseError:
        pass  # no such user, or no connection left


def agent_url(host, credential):
    """The broker address as agents see it, with the host's own user and password."""
    base = urlsplit(settings.CRYO_AGENT_BROKER_URL or settings.CELERY_BROKER_URL)
    netloc = f"{quote(username(host.name))}:{password(credential)}@{base.hostname}"
    if base.port:
        netloc += f":{base.port}"
    return urlunsplit((base.scheme, netloc, base.path, base.query, ""))


def connected_users():
    """Names of the broker users that hold at least one connection right now."""
    found = set()
    for client in admin().client_list():
        user = client.get("user")
        if user:
            found.add(user)
    return found


def queue_length(queue):
    return admin().llen(queue)
