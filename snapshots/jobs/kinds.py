"""Every job kind as the dashboard sees it: its steps, which host runs each, what that host is told, and where the
end of each step leads. The host agent's runners (snapshots.host.runners) do the work; these classes decide.

A work order carries names and ids only, never paths: the agent validates every name again and builds its paths
under its own engine's directories.
"""
from datetime import datetime

from django.utils import timezone

from .. import names
from ..models import Archive, Checkpoint, Job
from . import checkpoint_contents, results
from .outcomes import Done, Failed, Next, RolledBack

SOURCE, TARGET = "source", "target"


def unresolved():
    """The mark of a job whose outcome is not known: the next inventory of its host settles it."""
    return {"unresolved": True}


def engine_facts(host):
    return {
        "engine_kind": host.engine_kind, "docker_version": host.docker_version,
        "api_version": host.api_version, "kernel": host.kernel,
        "os": host.os, "criu_version": host.criu_version, "cpu_model": host.cpu_model,
    }


def record_checkpoint(job, *, exit, size, held=None):
    """The checkpoint a job made, as a row of its own (replacing any row a sync made of it meanwhile)."""
    Checkpoint.objects.live().filter(container=job.container, name=job.checkpoint_name).update(
        status=Checkpoint.Status.DELETED, deleted_at=timezone.now())
    return Checkpoint.objects.create(
        container=job.container, name=job.checkpoint_name, exit=exit, size_bytes=size,
        engine_facts=engine_facts(job.host), created_by_id=job.requested_by_id,
        created_by_name=job.requested_by_name, job=job, contents=held or {},
    )


def downtime(phases, last="restore"):
    """Seconds from the start of the checkpoint (the service stops) to the end of the restore (it runs again)."""
    start = next((p for p in phases if p["name"] == "checkpoint"), None)
    end = next((p for p in reversed(phases) if p["name"] == last and p.get("seconds") is not None), None)
    if not start or not end:
        return None
    began = datetime.fromisoformat(start["started"])
    ended = datetime.fromisoformat(end["started"])
    return round((ended - began).total_seconds() + end["seconds"], 3)


class JobKind:
    """The contract every kind follows. Methods run on the dashboard, inside the transition's transaction."""

    kind = ""
    steps = {"run": SOURCE}
    # Steps that may hand the job on before they end (the source keeps writing an archive the target reads).
    early_handoff = frozenset()

    def first_step(self, job):
        return "run"

    def host_for(self, job, step):
        return job.target_host if self.steps[step] == TARGET else job.host

    def order(self, job, step):
        """What the step's host is told: the job's names and the kind's parameters."""
        container = job.container
        return {
            "job": str(job.id), "kind": job.kind, "step": step,
            "container": {"id": container.engine_id, "name": container.name} if container else None,
            "checkpoint": job.checkpoint_name, "params": self.step_params(job, step),
        }

    def step_params(self, job, step):
        return {}

    def done(self, job, step, result):
        return Done(result)

    def failed(self, job, step, error, result):
        return Failed(error, unresolved() if results.flag(result, "engine_lost") else {})

    def lost(self, job, step, reason):
        """The step's host went away, or its agent stopped renewing the job's lease: the outcome is unknown until
        the host reports its engine again (snapshots.agents.observed settles it then)."""
        return Failed(f"{reason}; the engine may have finished the operation: the job is settled from what the "
                      "engine shows once its host reports again", unresolved())


class CheckpointKind(JobKind):
    kind = Job.Kind.CHECKPOINT

    def step_params(self, job, step):
        return {"leave_running": bool(job.params.get("leave_running"))}

    def done(self, job, step, result):
        size = results.number(result, "size_bytes")
        exit_ = not job.params.get("leave_running")
        record_checkpoint(job, exit=exit_, size=size, held=checkpoint_contents.clean((result or {}).get("contents")))
        return Done({"checkpoint_seconds": results.seconds(result, "checkpoint_seconds"), "size_bytes": size,
                     "exit": exit_})


class RestoreKind(JobKind):
    kind = Job.Kind.RESTORE

    def done(self, job, step, result):
        return Done({"restore_seconds": results.seconds(result, "restore_seconds")})

    def failed(self, job, step, error, result):
        if results.flag(result, "checkpoint_missing"):
            Checkpoint.objects.filter(container=job.container, name=job.checkpoint_name,
                                      status__in=Checkpoint.USABLE).update(status=Checkpoint.Status.MISSING)
        return super().failed(job, step, error, result)


class DeleteCheckpointKind(JobKind):
    kind = Job.Kind.DELETE_CHECKPOINT

    def done(self, job, step, result):
        from .. import store

        live = Checkpoint.objects.live().filter(container=job.container, name=job.checkpoint_name)
        archives = Archive.objects.filter(checkpoint__in=live).exclude(state=Archive.State.DELETED)
        count = store.discard(archives, job=job, reason="the checkpoint was deleted")
        live.update(status=Checkpoint.Status.DELETED, deleted_at=timezone.now())
        return Done({"was_on_engine": bool(results.flag(result, "was_on_engine")), "archives_deleted": count})


class SyncKind(JobKind):
    kind = Job.Kind.SYNC

    def done(self, job, step, result):
        return Done(results.counts(result, ("containers", "added", "changed", "gone", "running")))


class ExportKind(JobKind):
    """Archive a checkpoint into the dashboard's store (once: a stored archive is reused)."""

    kind = Job.Kind.EXPORT

    def step_params(self, job, step):
        from .. import store

        if "upload" not in job.params:
            checkpoint = Checkpoint.objects.live().filter(container=job.container, name=job.checkpoint_name).first()
            stored = store.stored_checkpoint(checkpoint) if checkpoint else None
            job.params["upload"] = None if stored else str(
                store.new_upload(job, Archive.Kind.CHECKPOINT, checkpoint=checkpoint).pk)
            job.params["archive"] = str(stored.pk) if stored else job.params["upload"]
        return {"upload": job.params["upload"]}

    def done(self, job, step, result):
        archive = Archive.objects.filter(pk=job.params.get("archive"), state=Archive.State.COMPLETE).first()
        if archive is None:
            return Failed("the host reported an export, but no complete archive reached the dashboard")
        return Done({"archive": archive.name, "sha256": archive.sha256, "archive_size": archive.size,
                     "reused": job.params.get("upload") is None})


class CopyKind(JobKind):
    """What clone and migrate share: the target host imports the image and the checkpoint and restores it.

    The source uploads what the target lacks through the worker API (the image once per image id, before any
    freeze; the checkpoint's files as it packs them), and hands the job on before its upload ends, so that the
    target reads the archive while it is being written.
    """

    steps = {"run": SOURCE, "import": TARGET}
    early_handoff = frozenset({"run"})
    keep_archive = True

    def elsewhere(self, job):
        return bool(job.target_host_id and job.target_host_id != job.host_id)

    def prepare_uploads(self, job):
        """Archive rows the source will write (created once, when the source claims its step): the container's own
        files (always: they are taken now), the checkpoint (unless the store holds it), the image (once per id)."""
        from .. import store

        p = job.params
        if not self.elsewhere(job) or "rootfs_archive" in p:
            return
        checkpoint = Checkpoint.objects.live().filter(container=job.container, name=job.checkpoint_name).first()
        stored = store.stored_checkpoint(checkpoint) if checkpoint and self.keep_archive else None
        if stored is not None:
            p["checkpoint_archive"] = str(stored.pk)
        else:
            p["checkpoint_upload"] = p["checkpoint_archive"] = str(store.new_upload(
                job, Archive.Kind.CHECKPOINT, checkpoint=checkpoint, keep=self.keep_archive).pk)
        if job.host.engine_kind != "podman":  # Podman's own checkpoint export carries the container's files
            p["rootfs_upload"] = p["rootfs_archive"] = str(store.new_upload(job, Archive.Kind.ROOTFS,
                                                                            keep=False).pk)
        # The image goes into the store once per image id (the target may have lost it since its last inventory);
        # the target loads it only if it lacks it.
        image_id = job.container.image_id
        image = store.stored_image(image_id)
        if image is not None:
            p["image_archive"] = str(image.pk)
        else:
            p["image_upload"] = p["image_archive"] = str(store.new_upload(job, Archive.Kind.IMAGE,
                                                                          image_id=image_id).pk)

    def source_params(self, job):
        self.prepare_uploads(job)
        p = job.params
        return {"elsewhere": self.elsewhere(job), "name": p.get("name") or "",
                "checkpoint_upload": p.get("checkpoint_upload"), "rootfs_upload": p.get("rootfs_upload"),
                "image_upload": p.get("image_upload")}

    def import_params(self, job):
        p = job.params
        job.params["reads"] = [a for a in (p.get("checkpoint_archive"), p.get("image_archive"),
                                           p.get("rootfs_archive")) if a]
        return {
            "name": p.get("name") or "", "derive": "clone" if self.kind == Job.Kind.CLONE else "migrated",
            "source_config": p.get("source_config") or {}, "image": p.get("image") or "",
            "image_id": p.get("image_id") or "", "image_archive": p.get("image_archive"),
            "checkpoint_archive": p.get("checkpoint_archive"), "rootfs_archive": p.get("rootfs_archive"),
        }

    def handoff_params(self, job, result):
        """What the source reported when it handed the job on: the container's configuration and its image."""
        config = result.get("source_config") if isinstance(result.get("source_config"), dict) else {}
        return {
            "source_config": clean_config(config),
            "image": results.text(result, "image", limit=255) or job.container.image,
            "image_id": results.name(result, "image_id", names.IMAGE_ID) or job.container.image_id,
        }

    def summary(self, job, result):
        archive = Archive.objects.filter(pk=job.params.get("checkpoint_archive")).first()
        return {
            "target_host": (job.target_host or job.host).name,
            "target_container": results.name(result, "target_container", names.CONTAINER),
            "target_container_id": results.engine_id(result, "target_container_id"),
            "archive_size": archive.size if archive else None,
            "phase_seconds": {p["name"]: p.get("seconds") for p in job.phases},
        }


def clean_config(config):
    """The parts of a container's configuration a target host may be asked to recreate, checked."""
    network = config.get("network_mode") or "none"
    if network not in ("none", "bridge", "default") or not isinstance(network, str):
        network = "none"  # host or another container's namespace never travels

    def strings(value, limit=500):
        return [v[:4096] for v in value[:limit] if isinstance(v, str)] if isinstance(value, list) else None

    labels = config.get("labels") if isinstance(config.get("labels"), dict) else {}
    tmpfs = config.get("tmpfs") if isinstance(config.get("tmpfs"), dict) else {}
    mounts = config.get("mounts") if isinstance(config.get("mounts"), list) else []
    return {
        "cmd": strings(config.get("cmd")),
        "entrypoint": strings(config.get("entrypoint")),
        "env": strings(config.get("env")) or [],
        "labels": {str(k)[:255]: str(v)[:4096] for k, v in list(labels.items())[:200]},
        "working_dir": str(config.get("working_dir") or "")[:4096],
        "user": str(config.get("user") or "")[:255],
        "tty": bool(config.get("tty")),
        "network_mode": network,
        # tmpfs mounts are recreated (CRIU carries their contents); other mounts are only described, for the
        # pre-flight: their contents never travel
        "tmpfs": {str(k)[:4096]: str(v)[:255] for k, v in list(tmpfs.items())[:50]
                  if isinstance(k, str) and k.startswith("/") and ".." not in k.split("/")},
        "mounts": [{key: str(m.get(key) or "")[:4096] for key in ("type", "name", "destination")}
                   for m in mounts[:50] if isinstance(m, dict)],
    }


class CloneKind(CopyKind):
    kind = Job.Kind.CLONE

    def step_params(self, job, step):
        return self.import_params(job) if step == "import" else self.source_params(job)

    def done(self, job, step, result):
        if step == "run" and self.elsewhere(job):
            return Next("import", self.handoff_params(job, result))
        return Done({**self.summary(job, result), "source_removed": False})


class MigrateKind(CopyKind):
    kind = Job.Kind.MIGRATE
    steps = {"run": SOURCE, "import": TARGET, "rollback": SOURCE, "cleanup": SOURCE}
    keep_archive = False  # a transit archive: the process lives on in the new container

    def step_params(self, job, step):
        if step == "import":
            return self.import_params(job)
        if step == "run":
            return self.source_params(job)
        return {}

    def done(self, job, step, result):
        if step == "run":
            checkpoint = record_checkpoint(job, exit=True, size=results.number(result, "size_bytes"))
            Archive.objects.filter(pk=job.params.get("checkpoint_archive")).update(checkpoint=checkpoint)
            return Next("import", self.handoff_params(job, result))
        if step == "import":
            summary = {**self.summary(job, result), "downtime_seconds": downtime(job.phases)}
            if job.params.get("keep_source"):
                return Done({**summary, "source_removed": False})
            return Next("cleanup", {"summary": summary})
        if step == "rollback":
            how = (f"kept running on {job.host.name} (it had not been stopped)" if results.flag(result, "still_running")
                   else f"was restored on {job.host.name} from checkpoint {job.checkpoint_name} and is running again")
            return RolledBack(
                f"migration to {job.target_host.name} failed{self._during(job)}: {job.params.get('failure')}. "
                f"The source container {job.container_name} {how}",
                {"rolled_back": True, "downtime_seconds": downtime(job.phases, last="rollback")},
            )
        return Done({**(job.params.get("summary") or {}), "source_removed": True})

    def failed(self, job, step, error, result):
        if step == "run":
            if results.flag(result, "rolled_back"):
                return RolledBack(error, {"rolled_back": True, "downtime_seconds": downtime(job.phases, "rollback")})
            return Failed(error)
        if step == "import":
            return Next("rollback", {"failure": error, "failed_phase": job.phase}, phase="rolling back")
        if step == "rollback":
            return Failed(
                f"migration to {job.target_host.name} failed{self._during(job)}: {job.params.get('failure')}. "
                f"Restoring the source on {job.host.name} also failed: {error}. {self.stopped_hint(job)}"
            )
        return Failed(f"the container runs on {job.target_host.name}, but removing the source failed: {error}")

    def lost(self, job, step, reason):
        if step in ("run", "import") and job.host.worker_id and not job.host.is_lost():
            # the source's agent is there (restarted, for a lost "run"): it brings the source back
            return Next("rollback", {"failure": reason, "failed_phase": job.phase or step}, phase="rolling back")
        if step in ("import", "rollback"):
            return Failed(f"{reason}; {self.stopped_hint(job)}")
        if step == "cleanup":
            return Failed(f"the container runs on {job.target_host.name}; {reason} before it removed the source")
        return super().lost(job, step, reason)

    def stopped_hint(self, job):
        return (f"the source container is stopped at checkpoint {job.checkpoint_name}: restore it with "
                f"`cryo restore {job.host.name} {job.container_name} {job.checkpoint_name}`")

    @staticmethod
    def _during(job):
        phase = job.params.get("failed_phase")
        return f" during {phase}" if phase else ""


KINDS = {k.kind: k for k in (CheckpointKind(), RestoreKind(), DeleteCheckpointKind(), SyncKind(), ExportKind(),
                             CloneKind(), MigrateKind())}


def kind_of(job):
    return KINDS[job.kind]
