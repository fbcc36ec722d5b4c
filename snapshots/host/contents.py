"""What a checkpoint holds, read on its host from the checkpoint's own CRIU images with CRIU's own Python module
(pycriu, from Debian's python3-pycriu at the pinned CRIU version; deploy/provision-host.sh unpacks it beside
CRIU): the process tree with each process's command line, the memory pages dumped, CRIU's timing statistics,
open files and sockets, mounts, and the CRIU and kernel versions CRIU's log names.

Command lines are not a field of any image: CRIU keeps a process's memory, and its argument area
(mm_arg_start..mm_arg_end of its mm image) is read from the dumped pages, located through its pagemap image
(pages of present entries are stored one after another in the pages image that the pagemap names).
"""
import importlib
import os
import re
import sys
from pathlib import Path

PYCRIU_PATHS = ("/opt/criu4/usr/lib/python3/dist-packages",)
PAGE_SIZE = 4096
LIMITS = {"processes": 500, "files": 2000, "mounts": 500}
CMDLINE_MAX = 4096
STATS = ("freezing_time", "frozen_time", "memdump_time", "memwrite_time", "pages_scanned", "pages_written",
         "pages_skipped_parent", "pages_lazy", "irmap_resolve")
VERSION_LINE = re.compile(r"^\(\s*[\d.]+\)\s+Version:\s+(\S+)")
KERNEL_LINE = re.compile(r"^\(\s*[\d.]+\)\s+Running on \S+ (Linux \S+)")


class Unreadable(Exception):
    pass


def images_module():
    """CRIU's image reader (pycriu.images), from the environment or from where provisioning unpacks it."""
    try:
        return importlib.import_module("pycriu.images")
    except ImportError:
        pass
    extra = [p for p in os.environ.get("CRYO_PYCRIU_PATH", "").split(os.pathsep) if p] + list(PYCRIU_PATHS)
    for path in extra:
        if (Path(path) / "pycriu" / "images").is_dir() and path not in sys.path:
            sys.path.append(path)
    try:
        return importlib.import_module("pycriu.images")
    except ImportError as exc:
        raise Unreadable("CRIU's Python images module (pycriu) is not installed on this host; run "
                         f"deploy/provision-host.sh, or set CRYO_PYCRIU_PATH ({exc})") from None


def images_dir(folder):
    """Docker keeps CRIU's images at the top of a checkpoint; Podman's exported layout has them in checkpoint/."""
    folder = Path(folder)
    return folder / "checkpoint" if (folder / "checkpoint" / "inventory.img").is_file() else folder


def read(folder):
    """Everything the page shows, as plain data; {"error": ...} when the images cannot be read."""
    try:
        return Reader(images_module(), images_dir(folder)).read()
    except Unreadable as exc:
        return {"error": str(exc)}
    except Exception as exc:  # a damaged or unexpected image: say so, never fail the job that made it
        return {"error": f"CRIU's images could not be read: {type(exc).__name__}: {exc}"[:500]}


class Reader:
    def __init__(self, images, folder):
        self.images, self.folder = images, Path(folder)

    def entries(self, name, missing_ok=True):
        path = self.folder / name
        if not path.is_file():
            if missing_ok:
                return []
            raise Unreadable(f"{name} is missing from the checkpoint")
        with path.open("rb") as handle:
            return self.images.load(handle, pretty=True)["entries"]

    def read(self):
        inventory = (self.entries("inventory.img", missing_ok=False) or [{}])[0]
        tree = self.entries("pstree.img", missing_ok=False)
        files = {f["id"]: f for f in self.entries("files.img")}
        processes, open_files, pages = [], [], 0
        for item in tree[:LIMITS["processes"]]:
            pid = item["pid"]
            core = (self.entries(f"core-{pid}.img") or [{}])[0]
            task = core.get("tc", {})
            ids = (self.entries(f"ids-{pid}.img") or [{}])[0]
            memory = Memory(self, pid)
            pages += memory.page_count()
            processes.append({
                "pid": pid, "ppid": item.get("ppid", 0), "pgid": item.get("pgid", 0), "sid": item.get("sid", 0),
                "threads": len(item.get("threads", [])), "comm": task.get("comm", ""),
                "state": task.get("task_state", ""), "cmdline": memory.cmdline(),
            })
            for fd in self.entries(f"fdinfo-{ids.get('files_id', '')}.img") if ids.get("files_id") else []:
                if len(open_files) < LIMITS["files"]:
                    open_files.append({"pid": pid, "fd": fd.get("fd"), "type": fd.get("type", ""),
                                       "what": describe_file(files.get(fd.get("id")), fd.get("type", ""))})
        stats = ((self.entries("stats-dump") or [{}])[0]).get("dump", {})
        versions = self.versions()
        return {
            "images_version": inventory.get("img_version"),
            "criu_version": versions.get("criu", ""), "kernel": versions.get("kernel", ""),
            "processes": processes,
            "memory": {"pages": pages, "bytes": pages * PAGE_SIZE,
                       "pages_written": stats.get("pages_written"), "pages_scanned": stats.get("pages_scanned")},
            "stats": {key: stats[key] for key in STATS if key in stats},
            "files": [f for f in open_files if f["type"] not in SOCKET_TYPES],
            "sockets": [f for f in open_files if f["type"] in SOCKET_TYPES],
            "mounts": self.mounts(),
        }

    def mounts(self):
        found = []
        for path in sorted(self.folder.glob("mountpoints-*.img")):
            for mount in self.entries(path.name):
                if len(found) < LIMITS["mounts"]:
                    found.append({"mountpoint": mount.get("mountpoint", ""), "fstype": self.fstype(mount.get("fstype")),
                                  "fsname": mount.get("fsname", ""), "source": mount.get("source", ""),
                                  "root": mount.get("root", "")})
        return found

    def fstype(self, value):
        """The file system kind by its name in CRIU's own enum (mnt.proto), not its number."""
        if not isinstance(value, int):
            return str(value or "")
        try:
            return importlib.import_module("pycriu.images.mnt_pb2").fstype.Name(value).lower()
        except (ImportError, AttributeError, ValueError):
            return str(value)

    def versions(self):
        """CRIU names its version and the kernel on the first lines of its dump log (runc keeps it there)."""
        log = self.folder / "dump.log"
        found = {}
        if not log.is_file():
            return found
        with log.open(encoding="utf-8", errors="replace") as handle:
            for _, line in zip(range(20), handle, strict=False):
                if match := VERSION_LINE.match(line):
                    found["criu"] = match.group(1)
                if match := KERNEL_LINE.match(line):
                    found["kernel"] = match.group(1)
        return found


SOCKET_TYPES = {"INETSK", "UNIXSK", "NETLINKSK", "PACKETSK"}


def _address(value):
    if isinstance(value, list):
        return ":".join(str(v) for v in value) if value and not isinstance(value[0], str) else "".join(value)
    return str(value or "")


def describe_file(entry, kind):
    """One line for an open file, from its files.img entry (CRIU's own field names)."""
    if not entry:
        return kind
    if "reg" in entry:
        return entry["reg"].get("name", "")
    if "isk" in entry:
        sk = entry["isk"]
        local = f"{_address(sk.get('src_addr'))}:{sk.get('src_port', '')}"
        remote = f"{_address(sk.get('dst_addr'))}:{sk.get('dst_port', '')}"
        state = sk.get("state", "")
        text = f"{sk.get('family', '')} {sk.get('proto', '')} {local}"
        return f"{text} {'listening' if str(state) in ('LISTEN', '10') else f'to {remote} ({state})'}"
    if "usk" in entry:
        sk = entry["usk"]
        name = sk.get("name", "")
        return f"unix {sk.get('type', '')} {name or '(unnamed)'}"
    if "pipe" in entry:
        return f"pipe {entry['pipe'].get('pipe_id', '')}"
    for key, value in entry.items():
        if isinstance(value, dict) and key not in ("type", "id"):
            return f"{kind.lower()} {value.get('name', '')}".strip()
    return kind


class Memory:
    """A process's dumped memory: which pages are present (its pagemap) and where they are (its pages image)."""

    def __init__(self, reader, pid):
        self.reader, self.pid = reader, pid
        entries = reader.entries(f"pagemap-{pid}.img")
        self.pages_id = entries[0].get("pages_id") if entries else None
        self.regions = [e for e in entries[1:] if "PE_PRESENT" in str(e.get("flags", ""))]

    def page_count(self):
        return sum(int(e.get("nr_pages", 0)) for e in self.regions)

    def read(self, start, end):
        """Bytes [start, end) of the process's memory from the dumped pages; b"" when they were not dumped."""
        if self.pages_id is None or end <= start:
            return b""
        path = self.reader.folder / f"pages-{self.pages_id}.img"
        offset, out = 0, b""
        with path.open("rb") as pages:
            for region in self.regions:
                base, count = int(str(region["vaddr"]), 0), int(region.get("nr_pages", 0))
                top = base + count * PAGE_SIZE
                lo, hi = max(start, base), min(end, top)
                if lo < hi:
                    pages.seek(offset + (lo - base))
                    out += pages.read(hi - lo)
                offset += count * PAGE_SIZE
        return out

    def cmdline(self):
        mm = (self.reader.entries(f"mm-{self.pid}.img") or [{}])[0]
        try:
            start, end = int(str(mm["mm_arg_start"]), 0), int(str(mm["mm_arg_end"]), 0)
        except (KeyError, ValueError):
            return ""
        raw = self.read(start, min(end, start + CMDLINE_MAX))
        return " ".join(part.decode("utf-8", "replace") for part in raw.rstrip(b"\0").split(b"\0"))
