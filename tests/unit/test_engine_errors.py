"""The engine adapter turns what Docker says into errors a person can act on."""
import pytest
import requests
from docker.errors import APIError

from snapshots import errors
from snapshots.host.engine import Engine, translate_api_error


def api_error(status, message):
    response = requests.Response()
    response.status_code = status
    return APIError(f"{status} error", response=response, explanation=message)


@pytest.mark.parametrize("status,message,kind", [
    (404, "page not found", errors.NotExperimental),
    (400, "checkpoint is only supported in experimental mode", errors.NotExperimental),
    (404, "No such container: abc", errors.ContainerNotFound),
    (409, "Container 0123 is not running", errors.ContainerNotRunning),
    (500, "checkpoint with name c1 already exists for container 0123", errors.CheckpointExists),
    (500, "checkpoint c1 does not exist for container 0123", errors.CheckpointNotFound),
    (500, "criu failed: type NOTIFY errno 0 path= /run/x/criu.work/dump.log", errors.CriuFailed),
    (500, "something else entirely", errors.EngineError),
])
def test_engine_messages_become_domain_errors(status, message, kind):
    error = translate_api_error(api_error(status, message))
    assert type(error) is kind
    if kind is errors.CriuFailed:
        assert "criu failed: type NOTIFY" in str(error), "the engine's own message is kept"


def test_a_socket_with_no_engine_behind_it_says_which_url_cannot_be_reached(tmp_path):
    url = f"unix://{tmp_path}/docker.sock"
    with pytest.raises(errors.EngineUnreachable, match=f"cannot reach Docker at {url}"):
        Engine(url).ping()


def test_not_experimental_tells_how_to_enable_it():
    assert "--experimental" in str(errors.NotExperimental())
