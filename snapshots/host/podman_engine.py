"""The one place Cryo talks to a Podman engine: its REST service (`podman system service`), rootful.

Podman answers Docker's API on the same socket, so containers, images, events and facts go through the Docker
adapter's calls unchanged (the `docker` SDK's transport, over Podman's socket). Checkpoints differ: Podman keeps
at most one checkpoint per container, inside the container's own directory, and moves checkpoints between stores
as an archive of its own (`podman container checkpoint --export` / `restore --import`) that also carries the
container's configuration and its file-system changes. So this adapter keeps Cryo's named checkpoints itself, each
the unpacked content of one such export, under `<graphRoot>/cryo/containers/<id>/checkpoints/<name>/` (the layout
`snapshots.host.paths` proves paths under), and:

- checkpoint_create: Podman's libpod checkpoint with export (leave-running or not), unpacked into that directory;
- start(checkpoint=NAME): the checkpoint's files are linked into the container's own directory (same file system,
  no copy) and Podman restores the container in place, applying the file-system changes it carries;
- import_checkpoint: Podman's import creates a new container from a checkpoint (clone and migration targets).
"""
import logging
import os
import shutil
import stat
import tarfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from .. import errors, names
from . import archive, paths
from .engine import Engine

log = logging.getLogger(__name__)
DEFAULT_URL = "unix:///run/podman/podman.sock"
LIBPOD = "/v4.0.0/libpod"  # Podman 4 and 5 both serve this prefix
CHUNK = 1 << 20
CRYO_DIR = "cryo"
# What a restore in place reads from the container's directory (the rest of an export is for an import).
RESTORE_FILES = ("checkpoint", "devshm-checkpoint.tar", "network.status", "rootfs-diff.tar", "deleted.files")
# Podman computes /info and /version afresh (it runs its runtime and conmon to ask their versions, and waits for
# its store's lock, held for the whole of a large checkpoint or import): 0.2-3 s each here, far longer under load.
# Heartbeats come every second and must not wait for that: the answers are kept, refreshed in the background once
# this old, and a ping (which takes no lock) still tells at each heartbeat whether the service answers.
FACTS_TTL = 30


class PodmanEngine(Engine):
    kind = "podman"
    label = "Podman"

    def __init__(self, url=None, *, timeout=30, long_timeout=900):
        super().__init__(url or os.environ.get("CONTAINER_HOST") or DEFAULT_URL, timeout=timeout,
                         long_timeout=long_timeout)
        self._graph_root = None
        self._facts = {}
        self._refreshing = set()
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------
    def _libpod(self, method, path, *, params=None, data=None, headers=None, stream=False, timeout=None,
                context=""):
        api = self.api

        def go():
            url = f"{api.base_url}{LIBPOD}{path}"
            # The SDK's client is a requests session on the engine's transport (unix socket, TLS or ssh).
            response = api.request(method.upper(), url, params=params, data=data, headers=headers, stream=stream,
                                   timeout=timeout or self.timeout)
            api._raise_for_status(response)
            return response

        return self._call(go, context=context)

    def _full_id(self, container_id):
        """The container's full id (the runners pass one; a name or short id is looked up, one more round trip)."""
        if len(container_id) == 64 and names.ENGINE_ID.is_valid(container_id):
            return container_id
        return self.inspect(container_id)["Id"]

    @staticmethod
    def _quoted(value):
        return quote(str(value), safe="")

    # -- facts ------------------------------------------------------------------------------
    def _kept(self, what, fetch):
        found, at = self._facts.get(what, (None, 0.0))
        if found is None:
            found = fetch()
            self._facts[what] = (found, time.monotonic())
            return dict(found)
        self.ping()  # a service that stopped answering is still seen at once
        if time.monotonic() - at >= FACTS_TTL:
            with self._lock:
                start = what not in self._refreshing
                self._refreshing.add(what)
            if start:
                threading.Thread(target=self._refresh, args=(what, fetch), name=f"podman-{what}", daemon=True).start()
        return dict(found)

    def _refresh(self, what, fetch):
        try:
            self._facts[what] = (fetch(), time.monotonic())
        except errors.CryoError as exc:
            log.info("Podman's %s could not be refreshed: %s", what, exc)
        finally:
            with self._lock:
                self._refreshing.discard(what)

    def version(self):
        return self._kept("version", super().version)

    def info(self):
        """Docker's /info shape, with "DockerRootDir" the directory Cryo keeps this engine's checkpoints under."""
        info = self._kept("info", super().info)
        graph_root = info.get("DockerRootDir") or ""
        if graph_root:
            self._graph_root = graph_root
            info["PodmanGraphRoot"] = graph_root
            info["DockerRootDir"] = str(Path(graph_root) / CRYO_DIR)
        return info

    def graph_root(self):
        if not self._graph_root:
            self.info()
        if not self._graph_root:
            raise errors.EngineError("Podman did not say where it keeps its data (graphRoot)")
        return self._graph_root

    def checkpoint_root(self):
        root = Path(self.graph_root()) / CRYO_DIR
        root.mkdir(mode=0o700, exist_ok=True)
        return root

    def bundle(self, container_id):
        """The container's own directory (Podman's "StaticDir"), proven to be under Podman's graph root."""
        names.ENGINE_ID.check(container_id)
        found = self._libpod("get", f"/containers/{self._quoted(container_id)}/json",
                             context=f"container {container_id}").json()
        return paths._under(found.get("StaticDir") or "", self.graph_root())

    # -- containers -------------------------------------------------------------------------
    def remove(self, container_id, force=False):
        result = super().remove(container_id, force=force)
        if names.ENGINE_ID.is_valid(container_id) and len(container_id) == 64:
            shutil.rmtree(paths.checkpoints_dir(self.checkpoint_root(), container_id).parent, ignore_errors=True)
        return result

    # -- images -----------------------------------------------------------------------------
    def tag_image(self, image, ref):
        """Name an image `ref` ("localhost/app:1"): Podman's import finds a checkpoint's image by the name it had."""
        repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
        return self._call(self.api.tag, image, repository, tag, force=True, context=f"tag {image} as {ref}")

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint_create(self, container_id, name, *, exit):
        root = self.checkpoint_root()
        container_id = self._full_id(container_id)
        dest = paths.checkpoint_dir(root, container_id, name)
        if dest.exists():
            raise errors.CheckpointExists(f"checkpoint {name!r} already exists for container {container_id[:12]}")
        staged = paths.staging_dir(root, uuid.uuid4()) / "checkpoint"
        try:
            response = self._libpod(
                "post", f"/containers/{self._quoted(container_id)}/checkpoint",
                params={"export": "true", "leaveRunning": "false" if exit else "true"}, stream=True,
                timeout=self.long_timeout, context=f"checkpoint {name} of {container_id}",
            )
            with response:
                unpack_export(response.raw, staged)
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            staged.rename(dest)
        finally:
            shutil.rmtree(staged.parent, ignore_errors=True)
        # Podman also left the dump in the container's own directory; Cryo's copy is the one that is kept.
        try:
            shutil.rmtree(self.bundle(container_id) / "checkpoint", ignore_errors=True)
        except errors.CryoError:
            pass

    def checkpoints(self, container_id):
        container_id = self._full_id(container_id)
        return paths.checkpoint_names(self.checkpoint_root(), container_id)

    def checkpoint_delete(self, container_id, name):
        container_id = self._full_id(container_id)
        dest = paths.checkpoint_dir(self.checkpoint_root(), container_id, name)
        if not dest.is_dir():
            raise errors.CheckpointNotFound(f"checkpoint {name!r} does not exist for container {container_id[:12]}")
        shutil.rmtree(dest)

    def start(self, container_id, *, checkpoint=None):
        if not checkpoint:
            return super().start(container_id)
        container_id = self._full_id(container_id)
        source = paths.checkpoint_dir(self.checkpoint_root(), container_id, checkpoint)
        if not source.is_dir():
            raise errors.CheckpointNotFound(f"checkpoint {checkpoint!r} does not exist for container "
                                            f"{container_id[:12]}")
        bundle = self.bundle(container_id)
        stage_for_restore(source, bundle)
        try:
            self._libpod("post", f"/containers/{self._quoted(container_id)}/restore", timeout=self.long_timeout,
                         context=f"restore {checkpoint} into {container_id}")
        except errors.CriuFailed as exc:
            raise errors.CriuFailed(with_criu_log(exc.engine_message, bundle / "restore.log")) from exc

    def import_checkpoint(self, source_dir, *, name):
        """A new container named `name`, created by Podman from a checkpoint's files and restored; its id."""
        names.CONTAINER.check(name)
        source_dir = Path(source_dir)
        if not (source_dir / "config.dump").is_file():
            raise errors.CryoError(f"{source_dir.name} is not a Podman checkpoint (it has no config.dump): "
                                   "a checkpoint made by another engine cannot be imported by Podman")
        body = archive.stream(lambda out: tar_directory(source_dir, out))
        # With import=true Podman names no existing container: the path needs a placeholder in its place.
        response = self._libpod(
            "post", "/containers/import/restore", params={"import": "true", "name": name}, data=body,
            headers={"Content-Type": "application/x-tar"}, timeout=self.long_timeout,
            context=f"import a checkpoint as {name}",
        )
        return names.ENGINE_ID.check((response.json() or {}).get("Id"))


def unpack_export(raw, target):
    """Unpack a Podman export (a plain tar stream) into `target`, which must not exist: plain files and
    directories only, each proven to stay inside it."""
    target = Path(target)
    target.mkdir(parents=True, mode=0o700)
    target = target.resolve()
    try:
        with tarfile.open(fileobj=raw, mode="r|*", bufsize=CHUNK) as tar:
            for member in tar:
                dest = archive._safe_member(member, target)
                if member.isdir():
                    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out, tar.extractfile(member) as data:
                    shutil.copyfileobj(data, out, CHUNK)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise errors.EngineError(f"Podman's checkpoint export broke off or is damaged ({exc})") from exc


def tar_directory(source_dir, out):
    """Write source_dir as a plain tar to `out` (what Podman's import reads); plain files and directories only."""
    source_dir = Path(source_dir)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tar:
        for path in sorted(source_dir.rglob("*")):
            mode = path.lstat().st_mode
            if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
                tar.add(path, arcname=str(path.relative_to(source_dir)), recursive=False)


def stage_for_restore(source, bundle):
    """Put a named checkpoint where Podman's restore in place reads it, as hard links (no copy). Whatever an
    earlier checkpoint left there goes first, so that nothing of it is mixed in."""
    for entry in RESTORE_FILES:
        dest = bundle / entry
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        elif dest.exists() or dest.is_symlink():
            dest.unlink()
        found = source / entry
        if found.is_dir():
            shutil.copytree(found, dest, symlinks=True, copy_function=_link_or_copy)
        elif found.is_file():
            _link_or_copy(found, dest)


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def with_criu_log(message, log_path, lines=6):
    """The engine's error, with CRIU's own last error lines when its log is still there."""
    try:
        text = Path(log_path).read_text(errors="replace").splitlines()
    except OSError:
        return message
    found = [line.strip() for line in text if "Error" in line or "error" in line][-lines:]
    return f"{message} [CRIU: {' | '.join(found)}]" if found else message
