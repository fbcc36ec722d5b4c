"""Image archives from the store are loaded by Cryo's rules, not by what they say about themselves.

A `docker save` tarball names the tags its images should get (`manifest.json`'s RepoTags, the legacy
`repositories` file, the OCI index's name annotations), and `docker load` applies them: an archive crafted on
one host could make another host's `nginx:latest` its own image. The archive passes through `untagged` on its
way to the engine, which drops every name; the agent then checks the image by its id and names it itself, and
only with a name that is free on that engine.
"""
import json
import tarfile

from ..errors import CryoError

MANIFEST_LIMIT = 16 << 20  # bytes of manifest.json or index.json read into memory
NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")


class ImageRejected(CryoError):
    pass


def _json_member(tin, member):
    if member.size > MANIFEST_LIMIT:
        raise ImageRejected(f"the image archive's {member.name} is {member.size} bytes; refused")
    try:
        return json.loads(tin.extractfile(member).read())
    except ValueError as exc:
        raise ImageRejected(f"the image archive's {member.name} is not JSON: {exc}") from None


def _without_names(name, document):
    if name == "manifest.json" and isinstance(document, list):
        for entry in document:
            if isinstance(entry, dict):
                entry["RepoTags"] = None
    elif name == "index.json" and isinstance(document, dict):
        for entry in document.get("manifests") or []:
            annotations = entry.get("annotations") if isinstance(entry, dict) else None
            if isinstance(annotations, dict):
                for key in NAME_ANNOTATIONS:
                    annotations.pop(key, None)
    return document


def untagged(source, out):
    """Copy the image tarball read from `source` to the binary file `out`, every image name removed."""
    import io

    with tarfile.open(fileobj=source, mode="r|") as tin, tarfile.open(fileobj=out, mode="w|",
                                                                       format=tarfile.PAX_FORMAT) as tout:
        for member in tin:
            name = member.name.lstrip("./")
            if name == "repositories":
                continue
            if name in ("manifest.json", "index.json") and member.isfile():
                raw = json.dumps(_without_names(name, _json_member(tin, member))).encode()
                member.size = len(raw)
                tout.addfile(member, io.BytesIO(raw))
            elif member.isfile():
                tout.addfile(member, tin.extractfile(member))
            else:
                tout.addfile(member)


def free_name(engine, image_ref, image_id):
    """Name the loaded image `image_ref` when that name is free on this engine (or already is this image);
    returns what to create the container from: the name, or the exact id."""
    if not image_ref or image_ref.startswith("sha256:"):
        return image_id
    try:
        if engine.inspect_image(image_ref)["Id"] == image_id:
            return image_ref
        return image_id  # the name belongs to another image here: leave it alone
    except CryoError:
        pass
    try:
        engine.tag_image(image_id, image_ref)
        return image_ref
    except CryoError:
        return image_id
