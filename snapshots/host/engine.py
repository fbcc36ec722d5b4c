"""The one place Cryo talks to a Docker engine, over the `docker` SDK's low-level client.

The SDK has no checkpoint methods, so those endpoints are called through the low-level client,
which keeps its URL building, TLS/ssh/unix transports and error handling. Engine failures are
turned into the domain errors of `snapshots.errors`, with the engine's own text kept.
Only the host agent constructs an Engine; the dashboard never does.
"""
import os

import docker
import requests
from docker import errors as docker_errors

from .. import errors

DEFAULT_URL = "unix:///var/run/docker.sock"


class Engine:
    kind = "docker"
    label = "Docker"

    def __init__(self, url=None, *, timeout=30, long_timeout=900):
        self.url = url or os.environ.get("DOCKER_HOST") or DEFAULT_URL
        self.timeout = timeout
        self.long_timeout = long_timeout
        self._api = None

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def api(self):
        if self._api is None:
            try:
                self._api = docker.APIClient(base_url=self.url, version="auto", timeout=self.timeout)
            except docker_errors.DockerException as exc:
                raise errors.EngineUnreachable(self.url, _root_cause(exc)) from exc
        return self._api

    def _call(self, fn, *args, context="", **kwargs):
        try:
            return fn(*args, **kwargs)
        except docker_errors.APIError as exc:
            raise translate_api_error(exc, context, engine=self.label) from exc
        except requests.exceptions.Timeout as exc:
            raise errors.EngineTimeout(
                f"{self.label} at {self.url} did not answer in time{f' ({context})' if context else ''}"
            ) from exc
        except (requests.exceptions.ConnectionError, docker_errors.DockerException) as exc:
            raise errors.EngineUnreachable(self.url, _root_cause(exc)) from exc

    def _request(self, method, path, *path_args, params=None, json=None, timeout=None, context=""):
        api = self.api

        def go():
            url = api._url(path, *path_args)
            kwargs = {"timeout": timeout or self.timeout}
            if params:
                kwargs["params"] = params
            if method == "post":
                response = api._post_json(url, data=json, **kwargs) if json is not None else api._post(url, **kwargs)
            elif method == "delete":
                response = api._delete(url, **kwargs)
            else:
                response = api._get(url, **kwargs)
            api._raise_for_status(response)
            return response

        return self._call(go, context=context)

    def close(self):
        if self._api is not None:
            self._api.close()
            self._api = None

    # -- engine facts -----------------------------------------------------------------------
    def info(self):
        return self._call(lambda: self.api.info(), context="engine info")

    def version(self):
        return self._call(lambda: self.api.version(), context="engine version")

    def ping(self):
        return self._call(lambda: self.api.ping(), context="ping")

    # -- containers -------------------------------------------------------------------------
    def containers(self):
        return self._call(lambda: self.api.containers(all=True), context="list containers")

    def inspect(self, container_id):
        return self._call(self.api.inspect_container, container_id, context=f"container {container_id}")

    def pause(self, container_id):
        return self._call(self.api.pause, container_id, context=f"pause {container_id}")

    def unpause(self, container_id):
        return self._call(self.api.unpause, container_id, context=f"unpause {container_id}")

    def stop(self, container_id, timeout=10):
        return self._call(self.api.stop, container_id, timeout=timeout, context=f"container {container_id}")

    def remove(self, container_id, force=False):
        return self._call(self.api.remove_container, container_id, force=force, context=f"container {container_id}")

    def create_container(self, *, image, command, name, config):
        host_config = self.api.create_host_config(network_mode=config.get("network_mode") or "none",
                                                  tmpfs=config.get("tmpfs") or None)
        return self._call(
            self.api.create_container,
            image=image,
            command=command,
            name=name,
            environment=config.get("env") or None,
            labels=config.get("labels") or None,
            working_dir=config.get("working_dir") or None,
            user=config.get("user") or None,
            entrypoint=config.get("entrypoint") or None,
            tty=bool(config.get("tty")),
            host_config=host_config,
            context=f"create container {name}",
        )

    def logs(self, container_id, tail="all"):
        return self._call(self.api.logs, container_id, tail=tail, context=f"logs of {container_id}")

    def events(self, since=None):
        """A blocking generator of container events (used by the worker to keep its inventory fresh)."""
        return self._call(
            lambda: self.api.events(since=since, decode=True, filters={"type": "container"}), context="events"
        )

    # -- images -----------------------------------------------------------------------------
    def images(self):
        return self._call(lambda: self.api.images(), context="list images")

    def inspect_image(self, image):
        return self._call(self.api.inspect_image, image, context=f"image {image}")

    def image_exists(self, image):
        try:
            self.inspect_image(image)
            return True
        except errors.EngineError as exc:
            if "No such image" in str(exc) or isinstance(exc, errors.ContainerNotFound):
                return False
            raise

    def save_image(self, image):
        """A stream of the image tarball (docker save)."""
        return self._call(lambda: self.api.get_image(image, chunk_size=1 << 20), context=f"save image {image}")

    def load_image(self, data):
        return self._call(lambda: list(self.api.load_image(data)), context="load image")

    def tag_image(self, image, ref):
        """Name an image `ref` ("app:1", "registry/app:1"; "latest" when no tag is given)."""
        repository, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
        return self._call(self.api.tag, image, repository, tag, context=f"tag {image} as {ref}")

    def pull_image(self, image):
        return self._call(self.api.pull, image, context=f"pull {image}")

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint_create(self, container_id, name, *, exit):
        self._request(
            "post",
            "/containers/{0}/checkpoints",
            container_id,
            json={"CheckpointID": name, "Exit": bool(exit), "CheckpointDir": ""},
            timeout=self.long_timeout,
            context=f"checkpoint {name} of {container_id}",
        )

    def checkpoints(self, container_id):
        response = self._request(
            "get", "/containers/{0}/checkpoints", container_id, context=f"checkpoints of {container_id}"
        )
        return [item["Name"] for item in (response.json() or [])]

    def checkpoint_delete(self, container_id, name):
        self._request(
            "delete",
            "/containers/{0}/checkpoints/{1}",
            container_id,
            name,
            context=f"checkpoint {name} of {container_id}",
        )

    def start(self, container_id, *, checkpoint=None):
        """Start a container; with `checkpoint`, restore it from that checkpoint (start --checkpoint)."""
        params = {"checkpoint": checkpoint} if checkpoint else None
        response = self._request(
            "post",
            "/containers/{0}/start",
            container_id,
            params=params,
            timeout=self.long_timeout,
            context=f"restore {checkpoint} into {container_id}" if checkpoint else f"start {container_id}",
        )
        if response.status_code == 304:
            raise errors.ContainerRunning(f"container {container_id} is already running")



def _root_cause(exc):
    seen = exc
    while seen.__cause__ or seen.__context__:
        seen = seen.__cause__ or seen.__context__
    text = str(seen) or str(exc)
    return text.split("\n")[0][:300]


def translate_api_error(exc, context="", engine="Docker"):
    """Turn an engine's HTTP error into the domain error a person can act on."""
    status = getattr(exc, "status_code", None) or (exc.response.status_code if exc.response is not None else None)
    message = (exc.explanation or str(exc) or "").strip()
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    lower = message.lower()
    if "experimental" in lower or (status == 404 and "page not found" in lower):
        return errors.NotExperimental(message)
    if "no such container" in lower:
        return errors.ContainerNotFound(f"container not found on the engine: {message}")
    if "no such image" in lower:
        return errors.EngineError(f"image not found on the engine: {message}")
    if "already exists" in lower and "checkpoint" in lower:
        return errors.CheckpointExists(message)
    if "checkpoint" in lower and ("does not exist" in lower or "not found" in lower or "no such file" in lower):
        return errors.CheckpointNotFound(message)
    if "is not running" in lower or "not running" in lower:
        return errors.ContainerNotRunning(message)
    if "already running" in lower or "is running" in lower:
        return errors.ContainerRunning(message)
    if "criu" in lower or "runc" in lower or "restore" in lower or "checkpoint" in lower:
        return errors.CriuFailed(message)
    prefix = f"{context}: " if context else ""
    return errors.EngineError(f"{engine} refused {prefix}{message} (HTTP {status})")
