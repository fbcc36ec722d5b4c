"""The web tier never holds a Docker socket: serving pages and sending jobs does not even load the SDK."""
import json
import subprocess
import sys

from tests.harness.workers import ROOT

PROBE = """
import json, sys, django
django.setup()
import dashboard.wsgi, dashboard.urls, snapshots.services, snapshots.tasks, snapshots.services.dispatch
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps(sorted(m for m in sys.modules if m == "docker" or m.startswith(("docker.", "snapshots.engine",
                                                                                 "snapshots.worker")))))
"""


def test_the_web_tier_and_the_services_never_load_the_docker_sdk():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_views_and_templates_do_not_import_the_engine_adapter():
    for path in (ROOT / "dashboard").rglob("*.py"):
        text = path.read_text()
        assert "snapshots.engine" not in text and "import docker" not in text, path
