"""Run Cryo's benchmarks and write their results, with the machine they ran on, into bench/results/.

    bench/run.py                 every benchmark module in bench/ (a module with a run() function)
    bench/run.py dashboard       only these
    bench/run.py --list

Each module runs in its own process (each sets up Django with its own database), returns a dict from run(),
and may format it with markdown(result). Results: bench/results/<name>-<YYYYMMDD-HHMMSS>.json and .md.
"""
import argparse
import datetime
import importlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(ROOT))


def modules():
    return sorted(p.stem for p in BENCH.glob("*.py") if p.stem not in ("run", "__init__")
                  and not p.stem.startswith("_"))


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kib = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                    if line.startswith("MemTotal:")), 0)
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(), "os": _os_name(), "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _os_name():
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def run_one(name):
    """In a child process: import the module, run it, print its result as JSON on the last line."""
    result = importlib.import_module(f"bench.{name}").run()
    print("\n" + json.dumps(result, default=str))


def write(name, result, facts):
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = RESULTS / f"{name}-{stamp}"
    payload = {"machine": {**facts, "database": result.get("database", "")}, "result": result}
    base.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    module = importlib.import_module(f"bench.{name}")
    body = module.markdown(result) if hasattr(module, "markdown") else "```\n" + json.dumps(result, indent=2) + "\n```"
    m = payload["machine"]
    header = [
        f"# Benchmark: {name}", "",
        f"Run {m['date']} on {m['cpu']} ({m['cores']} cores), {m['memory_gib']} GiB RAM, {m['os']}, "
        f"kernel {m['kernel']}, Python {m['python']}" + (f", {m['database']}" if m["database"] else "") + ".", "",
    ]
    if result.get("target"):
        header += [f"Target: {result['target']}.", ""]
    base.with_suffix(".md").write_text("\n".join(header) + body + "\n")
    return base


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(modules())})")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return run_one(args.child)
    if args.list:
        print("\n".join(modules()))
        return 0
    unknown = set(args.names) - set(modules())
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(modules())}")
    facts = machine()
    status = 0
    for name in args.names or modules():
        print(f"==> benchmark {name}", flush=True)
        child = subprocess.run([sys.executable, str(Path(__file__)), "--child", name], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
        output = child.stdout.rstrip().splitlines()
        print("\n".join(output[:-1]), flush=True)
        if child.returncode != 0 or not output:
            print(f"benchmark {name} failed (exit {child.returncode})", file=sys.stderr)
            status = 1
            continue
        base = write(name, json.loads(output[-1]), facts)
        print(f"results: {base.relative_to(ROOT)}.md and .json", flush=True)
        print(base.with_suffix(".md").read_text(), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
