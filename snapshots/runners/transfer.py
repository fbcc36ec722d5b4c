"""Moving a checkpoint between containers and hosts: archive to the store, images, staging, creation."""
import json
import logging
import shutil
import time
from pathlib import Path

import zstandard

from django.utils import timezone

from .. import archive, store
from ..errors import CryoError, EngineError
from ..models import Checkpoint

log = logging.getLogger(__name__)


def _live_checkpoint(container, checkpoint_name):
    return Checkpoint.objects.filter(container=container, name=checkpoint_name).exclude(status="deleted").first()


def existing_archive(container, checkpoint_name):
    """The facts of an earlier archive of this checkpoint that is still in the store, or None."""
    checkpoint = _live_checkpoint(container, checkpoint_name)
    if checkpoint and checkpoint.archive and checkpoint.archive_sha256 and store.exists(checkpoint.archive):
        return {"archive": checkpoint.archive, "sha256": checkpoint.archive_sha256,
                "archive_size": checkpoint.archive_size}
    return None


def _pack_into_store(engine, host, container, checkpoint_name, name):
    source = engine.checkpoint_dir(host.docker_root_dir, container.engine_id, checkpoint_name)
    with store.open_write(name) as out:
        sha, size = archive.pack(source, out)
    Checkpoint.objects.filter(pk=getattr(_live_checkpoint(container, checkpoint_name), "pk", None)).update(
        archive=name, archive_sha256=sha, archive_size=size)
    return {"archive": name, "sha256": sha, "archive_size": size}


def export_checkpoint(run, host, container, checkpoint_name):
    """Archive a checkpoint into the store (reusing an earlier archive of it); returns its facts."""
    found = existing_archive(container, checkpoint_name)
    if found:
        return found
    name = store.checkpoint_archive_name(host.name, container.engine_id, checkpoint_name, run.job.id)
    return _pack_into_store(run.engine, host, container, checkpoint_name, name)


def stream_export(engine, host, container, checkpoint_name, name):
    """Archive into the store while the target host already reads it; the outcome goes into a marker file.

    Runs after the job was handed to the target, so it never touches the job row and never raises.
    """
    started = timezone.now()
    t0 = time.monotonic()
    try:
        facts = _pack_into_store(engine, host, container, checkpoint_name, name)
    except Exception as exc:  # the target's reader turns this into a failed transfer and a rollback
        log.exception("export of %s failed while streaming", name)
        store.write_marker(name, "failed", str(exc) or repr(exc))
        return
    facts.update(seconds=round(time.monotonic() - t0, 3), started=started.isoformat(), host=host.name)
    store.write_marker(name, "done", json.dumps(facts))


def stage_streaming(host, job, archive_name):
    """Unpack an archive the source host is still writing; returns the writer's facts (sha256, timings)."""
    target = staging_dir(host, job)
    shutil.rmtree(target, ignore_errors=True)
    reader = archive.FollowReader(store.local_path(archive_name))
    try:
        archive.unpack(reader, target, expected_sha256=lambda: reader.done["sha256"])
    finally:
        reader.close()
    return reader.done


def export_image(engine, image_ref, image_id):
    """Put the image into the store once (keyed by its id), for hosts that cannot pull it."""
    name = store.image_archive_name(image_id)
    if not store.exists(name):
        with store.open_write(name) as out:
            archive.pack_stream(engine.save_image(image_ref or image_id), out)
    return name


def ensure_image(engine, image_ref, image_id, image_archive):
    """Make the image present on this engine: already there, from the store, or pulled. Returns the ref to use."""
    if image_id and engine.image_exists(image_id):
        try:
            if image_ref and engine.inspect_image(image_ref)["Id"] == image_id:
                return image_ref
        except EngineError:
            pass  # the tag is gone or points elsewhere: use the exact image by id
        return image_id
    if image_archive and store.exists(image_archive):
        with store.open_read(image_archive) as raw:
            reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            engine.load_image(iter(lambda: reader.read(1 << 20), b""))
        if engine.image_exists(image_id or image_ref):
            return image_ref if image_ref and engine.image_exists(image_ref) else image_id
    try:
        engine.pull_image(image_ref)
        return image_ref
    except EngineError as exc:
        raise CryoError(
            f"image {image_ref or image_id} is not on this host, is not in the checkpoint store, and cannot be "
            f"pulled ({exc}); load it on the target host first"
        ) from exc


def create_like(engine, config, image, name):
    """A new, stopped container with the source's configuration. Returns its engine id."""
    created = engine.create_container(image=image, command=config.get("cmd") or None, name=name, config=config)
    return created["Id"]


def staging_dir(host, job):
    return Path(host.docker_root_dir) / "cryo-staging" / str(job.id)


def stage_from_store(host, job, archive_name, sha256):
    target = staging_dir(host, job)
    shutil.rmtree(target, ignore_errors=True)
    with store.open_read(archive_name) as raw:
        return archive.unpack(raw, target, expected_sha256=sha256)


def place_checkpoint(engine, host, container_id, checkpoint_name, staged):
    """Move a staged checkpoint into the container's checkpoint directory (same filesystem: a rename)."""
    dest = engine.checkpoint_dir(host.docker_root_dir, container_id, checkpoint_name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    Path(staged).rename(dest)
    return dest


def copy_local_checkpoint(engine, host, source_id, target_id, checkpoint_name):
    src = engine.checkpoint_dir(host.docker_root_dir, source_id, checkpoint_name)
    dest = engine.checkpoint_dir(host.docker_root_dir, target_id, checkpoint_name)
    if not src.is_dir():
        raise CryoError(f"checkpoint {checkpoint_name!r} has no files on this host ({src} is missing)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest)
    return dest


def remove_quietly(engine, container_id):
    try:
        engine.remove(container_id, force=True)
    except CryoError:
        pass


def derived_name(base, suffix):
    stamp = timezone.now().strftime("%H%M%S")
    return f"{base[:200]}-{suffix}-{stamp}"
