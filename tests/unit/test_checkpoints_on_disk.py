"""What an agent reports of the checkpoints on its engine's disk: a dump is complete only once its last files are
written, in Docker's layout and in Podman's exported one alike."""
from snapshots.host import paths

CONTAINER = "a" * 64


def write(folder, *files):
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x" * 10)


def entries(root):
    return {e["name"]: e for e in paths.checkpoints_on_disk(root, CONTAINER)}


def test_a_docker_dump_with_its_inventory_and_descriptors_is_complete_and_one_cut_off_is_not(tmp_path):
    write(paths.checkpoint_dir(tmp_path, CONTAINER, "whole"), "inventory.img", "pstree.img", "descriptors.json",
          "pages-1.img")
    write(paths.checkpoint_dir(tmp_path, CONTAINER, "cut"), "pages-1.img", "pstree.img")
    found = entries(tmp_path)
    assert found["whole"]["complete"] is True and found["whole"]["size"] == 40
    assert found["cut"]["complete"] is False


def test_a_podman_export_with_its_configuration_and_criu_images_is_complete_and_one_without_is_not(tmp_path):
    write(paths.checkpoint_dir(tmp_path, CONTAINER, "whole"), "config.dump", "spec.dump",
          "checkpoint/inventory.img", "checkpoint/pstree.img")
    write(paths.checkpoint_dir(tmp_path, CONTAINER, "cut"), "config.dump", "spec.dump", "checkpoint/pages-1.img")
    found = entries(tmp_path)
    assert found["whole"]["complete"] is True
    assert found["cut"]["complete"] is False


def test_names_outside_the_checkpoint_rule_and_plain_files_are_not_listed(tmp_path):
    folder = paths.checkpoints_dir(tmp_path, CONTAINER)
    folder.mkdir(parents=True)
    (folder / "..hidden").mkdir()
    (folder / "a-file").write_bytes(b"")
    (folder / "ok").mkdir()
    assert paths.checkpoint_names(tmp_path, CONTAINER) == ["ok"]


def test_a_container_without_checkpoints_or_with_a_bad_id_has_none(tmp_path):
    assert paths.checkpoints_on_disk(tmp_path, CONTAINER) == []
    assert paths.checkpoints_on_disk(tmp_path, "../etc") == []
