"""The audit trail is a hash chain: tampering as someone with the database's rights would is reported at the row
where it happened; the ORM and the database refuse to change rows; concurrent writers never fork the chain."""
import contextlib
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from snapshots.audit_chain import GENESIS, link_hash, verify_chain
from snapshots.models import AuditChainHead, AuditEvent
from snapshots.services import audit

pytestmark = pytest.mark.django_db


def rows(n, **kw):
    return [audit.record(actor=None, action="checkpoint", outcome="requested", host="h1", container_name=f"c{i}",
                         details={"i": i}, **kw) for i in range(n)]


def state():
    """Everything an attacker might hope to change, to show that a refusal changed nothing."""
    return (list(AuditEvent.objects.order_by("seq").values_list()), list(AuditChainHead.objects.values_list()))


@contextlib.contextmanager
def as_database_owner():
    """Switch off the append-only triggers, as the owner of the database could (undone by the test's rollback)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER cryo_audit_append_only")
            cursor.execute("DROP TRIGGER cryo_audit_head_forward_only")
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_each_row_is_linked_to_the_row_before_it():
    first, second, third = rows(3)
    assert [r.seq for r in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == GENESIS and second.prev_hash == first.row_hash and third.prev_hash == second.row_hash
    stored = AuditEvent.objects.get(pk=second.pk)
    assert link_hash(stored.prev_hash, stored) == stored.row_hash
    assert AuditChainHead.objects.get().seq == 3 and AuditChainHead.objects.get().row_hash == third.row_hash


def test_an_intact_chain_verifies():
    rows(5)
    report = verify_chain()
    assert report.ok and report.checked == 5 and report.head_seq == 5
    assert report.describe().startswith("audit chain intact: 5 rows")


def test_a_row_edited_in_the_database_is_reported_as_edited():
    target = rows(4)[1]
    with as_database_owner():
        sql("UPDATE snapshots_auditevent SET outcome = 'succeeded' WHERE id = %s", [target.pk])
    report = verify_chain()
    assert not report.ok
    assert (report.first_break.kind, report.first_break.seq, report.first_break.pk) == ("edited", 2, target.pk)


def test_a_row_edited_and_rehashed_is_reported_where_the_chain_breaks():
    target = rows(4)[1]
    forged = AuditEvent.objects.get(pk=target.pk)
    forged.actor_name = "somebody-else"
    with as_database_owner():
        sql("UPDATE snapshots_auditevent SET actor_name = %s, row_hash = %s WHERE id = %s",
            [forged.actor_name, link_hash(forged.prev_hash, forged), target.pk])
    report = verify_chain()
    assert (report.first_break.kind, report.first_break.seq) == ("edited", 2)


def test_a_row_deleted_from_the_middle_is_reported():
    made = rows(5)
    with as_database_owner():
        sql("DELETE FROM snapshots_auditevent WHERE id IN (%s, %s)", [made[1].pk, made[2].pk])
    report = verify_chain()
    assert (report.first_break.kind, report.first_break.seq) == ("deleted", 4)
    assert "seq 2-3" in report.first_break.message


def test_rows_cut_off_the_end_are_reported():
    made = rows(5)
    with as_database_owner():
        sql("DELETE FROM snapshots_auditevent WHERE id = %s", [made[-1].pk])
    report = verify_chain()
    assert (report.first_break.kind, report.first_break.seq) == ("deleted", 5)


def test_the_chain_head_cannot_be_moved_back():
    made = rows(3)
    with pytest.raises(DatabaseError), transaction.atomic():
        sql("UPDATE snapshots_auditchainhead SET seq = 2, row_hash = %s", [made[1].row_hash])
    assert AuditChainHead.objects.get().seq == 3


def test_a_row_inserted_past_the_head_is_reported():
    last = rows(3)[-1]
    forged = AuditEvent(seq=4, prev_hash=last.row_hash, actor_name="ada", action="checkpoint", outcome="succeeded",
                        at=datetime.now(timezone.utc), details={})
    forged.row_hash = link_hash(forged.prev_hash, forged)
    sql("INSERT INTO snapshots_auditevent (seq, prev_hash, row_hash, at, actor_name, action, outcome, host_name, "
        "target_host_name, container_name, checkpoint_name, source, request_id, details) "
        "VALUES (%s, %s, %s, %s, 'ada', 'checkpoint', 'succeeded', '', '', '', '', '', '', '{}')",
        [4, forged.prev_hash, forged.row_hash, forged.at])
    report = verify_chain()
    assert (report.first_break.kind, report.first_break.seq) == ("inserted", 4)


def test_a_forged_row_in_place_of_a_deleted_one_is_reported():
    made = rows(4)
    original = AuditEvent.objects.get(pk=made[1].pk)
    with as_database_owner():
        sql("DELETE FROM snapshots_auditevent WHERE id = %s", [original.pk])
    forged = AuditEvent(seq=2, prev_hash=original.prev_hash, at=original.at, actor_name="eve", action="checkpoint",
                        outcome="succeeded", details={})
    forged.row_hash = link_hash(forged.prev_hash, forged)
    sql("INSERT INTO snapshots_auditevent (seq, prev_hash, row_hash, at, actor_name, action, outcome, host_name, "
        "target_host_name, container_name, checkpoint_name, source, request_id, details) "
        "VALUES (2, %s, %s, %s, 'eve', 'checkpoint', 'succeeded', '', '', '', '', '', '', '{}')",
        [forged.prev_hash, forged.row_hash, forged.at])
    report = verify_chain()
    assert (report.first_break.kind, report.first_break.seq) == ("edited", 2)


def test_the_orm_refuses_to_overwrite_a_row_through_a_fresh_instance():
    target = rows(2)[0]
    before = state()
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent(pk=target.pk, actor_name="eve", action="checkpoint", outcome="succeeded").save()
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent(id=target.pk, actor_name="eve", action="checkpoint", outcome="succeeded").save(force_update=True)
    with pytest.raises(TypeError, match="append-only"):
        target.outcome = "succeeded"
        target.save(update_fields=["outcome"])
    assert state() == before and verify_chain().ok


def test_the_base_manager_and_every_queryset_path_refuse_changes():
    target = rows(2)[0]
    before = state()
    attempts = [
        lambda: AuditEvent._base_manager.filter(pk=target.pk).update(outcome="succeeded"),
        lambda: AuditEvent._base_manager.filter(pk=target.pk).delete(),
        lambda: AuditEvent._default_manager.filter(pk=target.pk)._update({"outcome": "failed"}),
        lambda: AuditEvent.objects.bulk_update([target], ["outcome"]),
        lambda: AuditEvent.objects.filter(pk=target.pk)._raw_delete(connection.alias),
        lambda: AuditEvent.objects.update_or_create(pk=target.pk, defaults={"outcome": "failed"}),
        lambda: AuditEvent.objects.bulk_create([AuditEvent(pk=target.pk, actor_name="eve", action="x", outcome="x")]),
        lambda: AuditEvent.objects.bulk_create([AuditEvent(actor_name="eve", action="x", outcome="x")],
                                               update_conflicts=True, unique_fields=["seq"], update_fields=["action"]),
        lambda: target.delete(),
    ]
    for attempt in attempts:
        with pytest.raises(TypeError, match="append-only"):
            attempt()
    assert state() == before and verify_chain().ok


def test_the_database_refuses_to_update_a_row():
    target = rows(2)[0]
    before = state()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("UPDATE snapshots_auditevent SET outcome = 'succeeded' WHERE id = %s", [target.pk])
    assert state() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's test flush deletes rows; PostgreSQL only")
def test_the_database_refuses_to_delete_a_row_or_the_head():
    target = rows(2)[0]
    before = state()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM snapshots_auditevent WHERE id = %s", [target.pk])
    with pytest.raises(DatabaseError, match="only moves forward"), transaction.atomic():
        sql("DELETE FROM snapshots_auditchainhead")
    assert state() == before


def test_deleting_a_user_leaves_the_rows_that_name_them_untouched(people):
    event = audit.record(actor=people.vic, action="checkpoint", outcome="denied", host="h1")
    vic_id = people.vic.pk
    people.vic.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.actor_id, event.actor_name) == (vic_id, "vic")
    assert verify_chain().ok


def test_what_the_database_could_not_store_is_cleaned_and_still_verifies():
    tokyo = timezone(timedelta(hours=9))
    event = audit.record(
        actor=None, action="checkpoint", outcome="denied", host="h" * 300, container_name="evil\x00name" * 40,
        checkpoint_name="x" * 500, job=type("J", (), {"id": str(uuid.uuid4()).upper()})(),
        details={"big": 1e16, "exact": 1.0, "tiny": 1.5e-20, "nan": float("nan"), "nul\x00key": "a\x00b",
                 "when": datetime(2026, 3, 10, 23, 30, tzinfo=tokyo), "nested": [{"k": (1, 2)}]},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert len(stored.host_name) == 63 and stored.host_name.endswith("…")
    assert "\x00" not in stored.container_name and len(stored.checkpoint_name) == 128
    assert stored.details["nan"] == "nan" and stored.details["nul\ufffdkey"] == "a\ufffdb"
    assert verify_chain().ok


def test_the_command_prints_the_result_and_fails_at_a_break(capsys):
    made = rows(3)
    call_command("cryo", "audit", "verify")
    assert "audit chain intact: 3 rows" in capsys.readouterr().out
    with as_database_owner():
        sql("UPDATE snapshots_auditevent SET container_name = 'other' WHERE id = %s", [made[2].pk])
    with pytest.raises(CommandError, match=r"broken at row seq 3 .*edited") as failure:
        call_command("cryo", "audit", "verify")
    assert failure.value.returncode == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    errors = []

    def writer(n):
        from django.db import connection as own

        try:
            for i in range(15):
                with transaction.atomic():
                    audit.record(actor=None, action="sync", outcome="requested", host=f"w{n}", details={"i": i})
        except Exception as exc:  # noqa: B902 - shown in the assertion below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 61))
    report = verify_chain()
    assert report.ok and report.checked == 60


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_chain_existed_are_chained_by_the_migration():
    from django.db.migrations.executor import MigrationExecutor

    before_chain = [("snapshots", "0003_api_tokens")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("snapshots")
    try:
        executor.migrate(before_chain)
        old = MigrationExecutor(connection).loader.project_state(before_chain).apps.get_model("snapshots",
                                                                                               "AuditEvent")
        for i in range(7):
            old.objects.create(actor_name="ada", action="checkpoint", outcome="requested", container_name=f"c{i}",
                               details={"size": 1e16, "n": i})
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)
        report = verify_chain()
        assert report.ok and report.checked == 7
        assert list(AuditEvent.objects.order_by("id").values_list("seq", flat=True)) == list(range(1, 8))
        rows(1)
        assert verify_chain().checked == 8
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)


def test_a_seq_taken_twice_is_refused_by_the_database():
    first = rows(1)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        sql("INSERT INTO snapshots_auditevent (seq, prev_hash, row_hash, at, actor_name, action, outcome, host_name, "
            "target_host_name, container_name, checkpoint_name, source, request_id, details) "
            "VALUES (%s, '', '', %s, 'eve', 'x', 'x', '', '', '', '', '', '', '{}')", [first.seq, first.at])
