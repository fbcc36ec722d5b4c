"""The boundaries the layout promises: the web tier never holds a Docker socket; the host agent and the CLI carry
no Django (so no database settings or secret key to hold); only the outbox publishes to the broker."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WEB_PROBE = """
import json, sys, django
django.setup()
import dashboard.wsgi, dashboard.urls, snapshots.services, snapshots.tasks, snapshots.control
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps(sorted(m for m in sys.modules if m == "docker" or m.startswith(("docker.", "snapshots.host")))))
"""

AGENT_PROBE = """
import json, sys, pkgutil, importlib
import snapshots.host, snapshots.host.runners
for pkg in (snapshots.host, snapshots.host.runners):
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
import snapshots.cli.main
# (kombu looks for django.utils.functional when Django is installed: a helper module, no settings, no database)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("dashboard", "celery")
                        or (m.startswith("django.") and not m.startswith("django.utils"))
                        or m.startswith(("snapshots.models", "snapshots.services", "snapshots.jobs",
                                         "snapshots.agents")))))
"""


def _loaded(probe, **env):
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={"PATH": "/usr/bin:/bin", **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_web_tier_and_the_services_never_load_the_docker_sdk_or_the_agent():
    assert _loaded(WEB_PROBE, DJANGO_SETTINGS_MODULE="dashboard.settings", CRYO_SECRET_KEY="x",
                   CRYO_STORE_KEK=os.environ["CRYO_STORE_KEK"], CRYO_VAR_DIR="/tmp/cryo-architecture") == []


def test_the_host_agent_and_the_cli_load_no_django_settings_no_database_and_no_dashboard_code():
    assert _loaded(AGENT_PROBE) == []


def test_views_and_templates_do_not_import_the_engine_adapter():
    for path in (ROOT / "dashboard").rglob("*.py"):
        text = path.read_text()
        assert "snapshots.host" not in text and "import docker" not in text, path


def test_nothing_under_snapshots_imports_the_dashboard_project():
    for path in (ROOT / "snapshots").rglob("*.py"):
        text = path.read_text()
        assert "from dashboard" not in text and "import dashboard" not in text, path


def test_only_the_outbox_publishes_to_the_broker():
    publishers = [str(p.relative_to(ROOT)) for p in (ROOT / "snapshots").rglob("*.py")
                  if "send_task(" in p.read_text() or "apply_async(" in p.read_text()]
    assert publishers == ["snapshots/jobs/outbox.py"]
