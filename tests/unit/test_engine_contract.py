"""Both engine adapters fulfil the contract the agent and its runners rely on, with the same signatures."""
import inspect

import pytest

from snapshots.host.contract import CheckpointImporter, ContainerEngine
from snapshots.host.engine import Engine
from snapshots.host.podman_engine import PodmanEngine

CONTRACT_METHODS = [name for name, member in vars(ContainerEngine).items()
                    if callable(member) and not name.startswith("_")]


def parameters(function):
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_the_contract_names_every_call_the_runners_make():
    assert {"checkpoint_create", "checkpoints", "checkpoint_delete", "start", "inspect", "containers", "remove",
            "create_container", "events", "images", "image_exists", "inspect_image", "save_image", "load_image",
            "info", "version"} <= set(CONTRACT_METHODS)


@pytest.mark.parametrize("adapter", [Engine, PodmanEngine])
def test_each_adapter_fulfils_the_contract_with_its_signatures(adapter):
    engine = adapter("unix:///nonexistent/cryo-contract.sock")
    assert isinstance(engine, ContainerEngine)
    for name in CONTRACT_METHODS:
        assert parameters(getattr(adapter, name)) == parameters(getattr(ContainerEngine, name)), name
    assert engine.kind in ("docker", "podman") and engine.url == "unix:///nonexistent/cryo-contract.sock"


def test_only_the_podman_adapter_imports_a_checkpoint_as_a_new_container():
    assert parameters(PodmanEngine.import_checkpoint) == parameters(CheckpointImporter.import_checkpoint)
    assert not hasattr(Engine, "import_checkpoint")


def test_the_agent_picks_the_adapter_and_runners_of_its_engine(tmp_path):
    from snapshots.host.agent import Agent
    from snapshots.host.runners.podman import PodmanCloneRunner, PodmanMigrateRunner

    docker = Agent("http://127.0.0.1:1", state_dir=tmp_path / "d", docker_url="unix:///x.sock")
    podman = Agent("http://127.0.0.1:1", state_dir=tmp_path / "p", docker_url="unix:///y.sock", engine_kind="podman")
    assert type(docker.engine()) is Engine and type(podman.engine()) is PodmanEngine
    assert podman.engine().url == "unix:///y.sock"
    assert isinstance(podman.runners["clone"], PodmanCloneRunner)
    assert isinstance(podman.runners["migrate"], PodmanMigrateRunner)
    assert not isinstance(docker.runners["clone"], PodmanCloneRunner)
    assert set(docker.runners) == set(podman.runners)


def test_the_agent_refuses_a_docker_url_for_a_podman_host(capsys):
    from snapshots.host.__main__ import main

    with pytest.raises(SystemExit) as stopped:
        main(["--url", "http://127.0.0.1:1", "--engine", "podman", "--docker-url", "unix:///x.sock"])
    assert "--podman-url" in str(stopped.value)
    with pytest.raises(SystemExit) as stopped:
        main(["--url", "http://127.0.0.1:1", "--podman-url", "unix:///x.sock"])
    assert "--engine podman" in str(stopped.value)
