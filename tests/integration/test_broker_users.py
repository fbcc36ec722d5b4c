"""Each host's broker user, tried against the real Redis server (the tests' own): host A's credential consumes
A's queue and nothing else; it cannot read, push to or delete host B's queue; revoking it cuts it off at once."""
import pytest
import redis
from kombu import Connection, Consumer, Exchange, Queue

from snapshots.agents import broker as broker_users
from snapshots.jobs import outbox
from snapshots.models import Host, HostCredential

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hosts(broker):
    made = {}
    for name in ("acl-a", "acl-b"):
        host = Host.objects.create(name=name)
        credential, _secret = HostCredential.issue(host)
        broker_users.ensure(host, credential)
        made[name] = (host, credential)
    yield made
    for name in made:
        broker_users.remove(name)
        broker.delete(*broker_users.keys(f"cryo.host.{name}"))


def as_host(host, credential):
    return redis.Redis.from_url(broker_users.agent_url(host, credential), socket_timeout=3)


def test_host_a_cannot_read_push_to_or_delete_host_bs_queue(hosts, broker):
    a = as_host(*hosts["acl-a"])
    outbox.publish("00000000-0000-4000-8000-00000000000b", "cryo.host.acl-b")
    before = broker.lrange("cryo.host.acl-b", 0, -1)
    assert len(before) == 1
    attempts = [
        lambda: a.llen("cryo.host.acl-b"), lambda: a.lrange("cryo.host.acl-b", 0, -1),
        lambda: a.brpop(["cryo.host.acl-b"], timeout=1), lambda: a.lpush("cryo.host.acl-b", b"forged"),
        lambda: a.delete("cryo.host.acl-b"), lambda: a.rename("cryo.host.acl-b", "cryo.host.acl-a"),
        lambda: a.smembers("_kombu.binding.cryo.host.acl-b"), lambda: a.sadd("_kombu.binding.cryo.host.acl-b", "x"),
        lambda: a.hgetall("cryo.host.acl-b.unacked"), lambda: a.keys("*"), lambda: a.flushdb(),
        lambda: a.config_get("*"), lambda: a.execute_command("ACL", "LIST"), lambda: a.publish("anything", "x"),
        lambda: a.eval("return redis.call('lpush', KEYS[1], 'forged')", 1, "cryo.host.acl-b"),
    ]
    for attempt in attempts:
        with pytest.raises(redis.exceptions.NoPermissionError):
            attempt()
    assert broker.lrange("cryo.host.acl-b", 0, -1) == before, "B's queue is exactly as it was"


def test_host_a_consumes_its_own_queue_with_kombu_as_the_agent_does(hosts):
    host, credential = hosts["acl-a"]
    outbox.publish("00000000-0000-4000-8000-00000000000a", host.queue)
    got = []
    target = Queue(host.queue, Exchange(host.queue, type="direct"), routing_key=host.queue)
    with Connection(broker_users.agent_url(host, credential),
                    transport_options=broker_users.transport_options(host.queue)) as conn:
        with Consumer(conn.channel(), queues=[target], accept=["json"],
                      callbacks=[lambda body, message: (got.append(body), message.ack())]):
            conn.drain_events(timeout=5)
    assert got and got[0][0] == ["00000000-0000-4000-8000-00000000000a"]


def test_a_revoked_host_is_cut_off_at_once(hosts):
    host, credential = hosts["acl-b"]
    b = as_host(host, credential)
    assert b.ping()
    broker_users.remove(host.name)
    with pytest.raises((redis.exceptions.ConnectionError, redis.exceptions.AuthenticationError)):
        b.llen(host.queue)
    with pytest.raises((redis.exceptions.AuthenticationError, redis.exceptions.ConnectionError)):
        as_host(host, credential).ping()
