"""The engine contract: what the agent, its runners, the inventory and the transfers call on an engine adapter.

Two adapters fulfil it: `engine.Engine` (Docker) and `podman_engine.PodmanEngine` (Podman's REST API). Data comes
back in Docker's shapes (a container's inspect JSON, `{"Id": ...}` after a create, image summaries), because that is
what Podman's Docker-compatible endpoints answer too and what the runners read. Checkpoints are named and live under
`info()["DockerRootDir"]/containers/<id>/checkpoints/<name>/` (`snapshots.host.paths`): Docker keeps them there
itself; the Podman adapter keeps each one there as the unpacked content of Podman's own export.

Every failure is raised as a `snapshots.errors.EngineError` (or a subclass) with the engine's own text.
"""
from typing import Any, Iterable, Iterator, Protocol, runtime_checkable


@runtime_checkable
class ContainerEngine(Protocol):
    kind: str  # "docker" or "podman": a host fact, and what selects the runners that need an engine's own path
    url: str

    def close(self) -> None: ...

    # -- facts ------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Docker's /info shape; "DockerRootDir" is the directory checkpoints live under."""

    def version(self) -> dict[str, Any]: ...

    def ping(self) -> Any: ...

    # -- containers -------------------------------------------------------------------------
    def containers(self) -> list[dict[str, Any]]:
        """Every container, running or not, as summaries with an "Id"."""

    def inspect(self, container_id: str) -> dict[str, Any]:
        """Docker's inspect shape: Id, Name, Image (the image id), Config.{Image,Cmd,...}, State.{Status,Running}."""

    def stop(self, container_id: str, timeout: int = 10) -> Any: ...

    def remove(self, container_id: str, force: bool = False) -> Any:
        """Remove the container and the checkpoints kept for it."""

    def create_container(self, *, image: str, command: Any, name: str, config: dict[str, Any]) -> dict[str, Any]: ...

    def logs(self, container_id: str, tail: Any = "all") -> bytes: ...

    def events(self, since: Any = None) -> Iterator[dict[str, Any]]:
        """A blocking stream of container events, each with Actor.ID (or id) and Action."""

    # -- images -----------------------------------------------------------------------------
    def images(self) -> list[dict[str, Any]]: ...

    def inspect_image(self, image: str) -> dict[str, Any]: ...

    def image_exists(self, image: str) -> bool: ...

    def save_image(self, image: str) -> Iterable[bytes]:
        """The image as a `docker save` tarball, in chunks."""

    def load_image(self, data: Iterable[bytes]) -> Any: ...

    def tag_image(self, image: str, ref: str) -> Any:
        """Name an image `ref`; the image archives Cryo loads carry no names of their own."""

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint_create(self, container_id: str, name: str, *, exit: bool) -> None:
        """Checkpoint a running container under `name`; with exit=False it keeps running (leave-running)."""

    def checkpoints(self, container_id: str) -> list[str]: ...

    def checkpoint_delete(self, container_id: str, name: str) -> None: ...

    def start(self, container_id: str, *, checkpoint: str | None = None) -> None:
        """Start a stopped container; with `checkpoint`, restore it in place from that checkpoint."""


class CheckpointImporter(Protocol):
    """What an engine offers when a checkpoint can only be restored into a new container by importing it whole
    (Podman: the import creates the container from the checkpoint's own configuration and file-system changes)."""

    def import_checkpoint(self, source_dir: Any, *, name: str) -> str:
        """Create a container named `name` from the checkpoint files in `source_dir` and restore it; its id."""
