"""Moving a checkpoint between containers and hosts: images and checkpoint archives through the worker API,
staging under the engine's own directory, and creating the new container."""
import hashlib
import logging
import shutil
import tarfile
from datetime import datetime, timezone

import requests
import urllib3
import zstandard

from .. import names
from ..errors import ArchiveRejected, CryoError, EngineError
from . import archive, bounds, images, paths, rootfs, sealed

log = logging.getLogger(__name__)
CHUNK = 1 << 20


class ResponseReader:
    """`.read(n)` over a streaming HTTP response; a transfer that breaks off becomes an OSError."""

    def __init__(self, response):
        self.raw = response.raw

    def read(self, n=-1):
        try:
            return self.raw.read(n if n and n > 0 else CHUNK)
        except (urllib3.exceptions.HTTPError, requests.RequestException) as exc:
            raise OSError(f"the transfer from the dashboard broke off: {exc}") from exc


# -- source side ---------------------------------------------------------------------------------
def upload(client, upload_id, produce, size_hint=None):
    """Stream what `produce(out)` writes into the store as archive `upload_id`, sealed with its data key as it is
    packed: the dashboard and its store only ever see sealed bytes."""
    key = client.write_key(upload_id)
    if key is not None:
        produce = sealed.sealing(produce, key, upload_id)
    return client.upload(upload_id, archive.stream(produce), size_hint=size_hint)


def upload_image(ctx, upload_id, image_ref, image_id):
    """The image, as `docker save` gives it, compressed, into the dashboard's store (once per image)."""
    source = ctx.engine.save_image(image_ref or image_id)
    return upload(ctx.client, upload_id, lambda out: archive.pack_stream(source, out))


def upload_checkpoint(ctx, upload_id, container_id, checkpoint_name):
    source = paths.checkpoint_dir(ctx.engine_root, container_id, checkpoint_name)
    return upload(ctx.client, upload_id, lambda out: archive.pack(source, out), size_hint=paths.directory_size(source))


def upload_files(ctx, upload_id, info):
    """The container's own files (its writable layer), taken while it is stopped, or paused for the time it takes."""
    upper = rootfs.upper_dir(info, ctx.engine_root)
    running = bool((info.get("State") or {}).get("Running")) and not (info.get("State") or {}).get("Paused")
    if running:
        ctx.engine.pause(info["Id"])
    try:
        return upload(ctx.client, upload_id, lambda out: rootfs.pack(upper, out), size_hint=rootfs.size(upper))
    finally:
        if running:
            ctx.engine.unpause(info["Id"])


def copy_files(engine, engine_root, source_info, target_id):
    """The same host: a new container gets the source's own files (the source paused for the copy)."""
    upper_from = rootfs.upper_dir(source_info, engine_root)
    upper_to = rootfs.upper_dir(engine.inspect(target_id), engine_root)
    running = bool((source_info.get("State") or {}).get("Running")) and not source_info["State"].get("Paused")
    if running:
        engine.pause(source_info["Id"])
    try:
        return rootfs.copy(upper_from, upper_to)
    finally:
        if running:
            engine.unpause(source_info["Id"])


def receive_files(ctx, archive_id, container_id):
    """Apply the source's files to the new container's layer before its restore, verified like any archive."""
    upper = rootfs.upper_dir(ctx.engine.inspect(container_id), ctx.engine_root)
    limits, decrypt = _limits(ctx, archive_id), _opener(ctx, archive_id)
    with ctx.client.download(ctx.job_id, archive_id) as response:
        return rootfs.unpack(ResponseReader(response), upper, expected_sha256=lambda: _digest(ctx, archive_id),
                             limits=limits, decrypt=decrypt)


# -- target side ---------------------------------------------------------------------------------
def _limits(ctx, archive_id):
    """Limits from what the dashboard recorded: the unpacked size the writer declared and, once the archive is
    complete, its stored size."""
    recorded = ctx.client.digest(ctx.job_id, archive_id)
    return bounds.Limits.for_archive(recorded.get("size") if recorded.get("state") == "complete" else None,
                                     recorded.get("unpacked_size"))


def _opener(ctx, archive_id):
    """How to open the archive's sealed bytes (None for an archive stored before sealing)."""
    key = ctx.client.read_key(ctx.job_id, archive_id)
    return (lambda raw: sealed.Opener(raw, key, archive_id)) if key is not None else None


def _digest(ctx, archive_id):
    """What the dashboard recorded as the bytes arrived: the only digest a reader trusts."""
    found = ctx.client.digest(ctx.job_id, archive_id)
    if found.get("state") != "complete":
        raise ArchiveRejected(f"the archive is {found.get('state')} on the dashboard: {found.get('error') or ''}")
    return found["sha256"]


def ensure_image(ctx, image_ref, image_id, image_archive_id):
    """Make the image present on this engine: already there, or loaded from the store after its bytes were verified.
    Returns the reference to create the container from."""
    engine = ctx.engine
    if image_id and engine.image_exists(image_id):
        try:
            if image_ref and engine.inspect_image(image_ref)["Id"] == image_id:
                return image_ref
        except EngineError:
            pass  # the tag is gone or points elsewhere: use the exact image by id
        return image_id
    if not image_archive_id:
        raise CryoError(f"image {image_ref or image_id} is not on this host and the store holds no copy of it; "
                        "load it on the target host first")
    staged = paths.staging_dir(ctx.engine_root, ctx.job_id)
    staged.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = staged / "image.tar.zst"
    sha = hashlib.sha256()
    with ctx.client.download(ctx.job_id, image_archive_id) as response, open(path, "wb") as out:
        reader = ResponseReader(response)
        while chunk := reader.read(CHUNK):
            sha.update(chunk)
            out.write(chunk)
    if sha.hexdigest() != _digest(ctx, image_archive_id):
        path.unlink(missing_ok=True)
        raise ArchiveRejected("the image archive's sha256 does not match what the dashboard recorded; not loaded")
    plain = staged / "image.tar"
    try:
        decrypt = _opener(ctx, image_archive_id)
        with open(path, "rb") as raw, open(plain, "wb") as out:
            stream = zstandard.ZstdDecompressor().stream_reader(decrypt(raw) if decrypt else raw,
                                                                read_across_frames=True)
            images.untagged(stream, out)  # loaded by id; the names inside the archive are not applied
        path.unlink(missing_ok=True)
        with open(plain, "rb") as tarball:
            engine.load_image(iter(lambda: tarball.read(CHUNK), b""))
    except (images.ImageRejected, tarfile.TarError, zstandard.ZstdError) as exc:
        raise ArchiveRejected(f"the image archive cannot be loaded: {exc}") from None
    finally:
        path.unlink(missing_ok=True)
        plain.unlink(missing_ok=True)
    if not engine.image_exists(image_id):
        raise ArchiveRejected(f"the loaded image archive did not contain image {image_id}")
    return images.free_name(engine, image_ref, image_id)


def receive_checkpoint(ctx, archive_id, staged):
    """Unpack an archive (possibly still being written on the source) into `staged`, verified against the digest
    the dashboard recorded; on any mismatch nothing is left behind."""
    shutil.rmtree(staged, ignore_errors=True)
    staged.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    limits, decrypt = _limits(ctx, archive_id), _opener(ctx, archive_id)
    with ctx.client.download(ctx.job_id, archive_id) as response:
        return archive.unpack(ResponseReader(response), staged, expected_sha256=lambda: _digest(ctx, archive_id),
                              limits=limits, decrypt=decrypt)


def place_checkpoint(engine_root, container_id, checkpoint_name, staged):
    """Move a staged checkpoint into the container's checkpoint directory (same file system: a rename)."""
    dest = paths.checkpoint_dir(engine_root, container_id, checkpoint_name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(dest)
    return dest


def copy_local_checkpoint(engine_root, source_id, target_id, checkpoint_name):
    src = paths.checkpoint_dir(engine_root, source_id, checkpoint_name)
    dest = paths.checkpoint_dir(engine_root, target_id, checkpoint_name)
    if not src.is_dir():
        raise CryoError(f"checkpoint {checkpoint_name!r} has no files on this host ({src} is missing)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest, symlinks=True)
    return dest


def create_like(engine, config, image, name):
    """A new, stopped container with the source's configuration. Returns its engine id."""
    names.CONTAINER.check(name)
    network = config.get("network_mode") or "none"
    if network not in ("none", "bridge", "default"):
        raise CryoError(f"network mode {network!r} cannot be recreated on another host")
    created = engine.create_container(image=image, command=config.get("cmd") or None, name=name,
                                      config={**config, "network_mode": network})
    return names.ENGINE_ID.check(created["Id"])


def remove_quietly(engine, container_id):
    try:
        engine.remove(container_id, force=True)
    except CryoError:
        pass


def derived_name(base, suffix):
    stamp = datetime.now(timezone.utc).strftime("%H%M%S")
    return f"{base[:180]}-{suffix}-{stamp}"


def name_taken(engine, name):
    try:
        engine.inspect(name)
        return True
    except CryoError:
        return False
