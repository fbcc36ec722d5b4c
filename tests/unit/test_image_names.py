"""Image archives from the store carry no names into the engine: a tarball crafted to retag another image on the
target host (`nginx:latest`, say) is loaded with every name removed, and the agent names the image itself only
where that name is free."""
import io
import json
import tarfile

import pytest

from snapshots.errors import EngineError
from snapshots.host import images


def tarball(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def read_back(buffer):
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


LAYER = b"layer bytes " * 1000
HOSTILE = {
    "manifest.json": json.dumps([{"Config": "blobs/sha256/cfg", "RepoTags": ["nginx:latest", "cryo-counter:1"],
                                  "Layers": ["blobs/sha256/layer"]}]).encode(),
    "repositories": json.dumps({"nginx": {"latest": "abc"}}).encode(),
    "index.json": json.dumps({"schemaVersion": 2, "manifests": [{"digest": "sha256:m", "annotations": {
        "io.containerd.image.name": "docker.io/library/nginx:latest", "org.opencontainers.image.ref.name": "latest",
        "other": "kept"}}]}).encode(),
    "blobs/sha256/layer": LAYER,
    "blobs/sha256/cfg": b"{}",
}


def test_an_archive_that_names_other_images_loses_every_name_and_keeps_its_layers():
    out = io.BytesIO()
    images.untagged(tarball(HOSTILE), out)
    files = read_back(out)
    assert "repositories" not in files
    assert json.loads(files["manifest.json"])[0]["RepoTags"] is None
    annotations = json.loads(files["index.json"])["manifests"][0]["annotations"]
    assert annotations == {"other": "kept"}
    assert files["blobs/sha256/layer"] == LAYER and files["blobs/sha256/cfg"] == b"{}"


def test_a_manifest_that_is_not_json_is_refused():
    with pytest.raises(images.ImageRejected, match="not JSON"):
        images.untagged(tarball({"manifest.json": b"{nope"}), io.BytesIO())


def test_an_oversized_manifest_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setattr(images, "MANIFEST_LIMIT", 100)
    with pytest.raises(images.ImageRejected, match="refused"):
        images.untagged(tarball({"manifest.json": b"[" + b" " * 200 + b"]"}), io.BytesIO())


class Engine:
    def __init__(self, names):
        self.names, self.tagged = dict(names), []

    def inspect_image(self, ref):
        if ref not in self.names:
            raise EngineError(f"No such image: {ref}")
        return {"Id": self.names[ref]}

    def tag_image(self, image, ref):
        self.tagged.append((image, ref))
        self.names[ref] = image


def test_the_agent_names_the_loaded_image_only_where_the_name_is_free():
    engine = Engine({})
    assert images.free_name(engine, "cryo-counter:1", "sha256:new") == "cryo-counter:1"
    assert engine.tagged == [("sha256:new", "cryo-counter:1")]


def test_a_name_that_belongs_to_another_image_on_the_host_is_left_alone():
    engine = Engine({"nginx:latest": "sha256:theirs"})
    assert images.free_name(engine, "nginx:latest", "sha256:new") == "sha256:new"
    assert engine.tagged == [] and engine.names["nginx:latest"] == "sha256:theirs"
