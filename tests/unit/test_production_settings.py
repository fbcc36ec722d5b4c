"""`manage.py check --deploy` is clean with the documented production environment (deploy/systemd/cryo.env.example),
and not without it; HTTPS settings do what they say."""
import base64
import os
import subprocess
import sys

import pytest

from tests.harness.processes import ROOT

EXAMPLE = ROOT / "deploy" / "systemd" / "cryo.env.example"


def documented_environment(tmp_path):
    env = {}
    for line in EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split("=", 1)
            env[name] = value
    # What only exists on a real server: the secret files, the database, the syslog socket.
    for name in [n for n in env if n.endswith("_FILE")]:
        secret = tmp_path / name.lower()
        secret.write_text(base64.b64encode(os.urandom(32)).decode() if name == "CRYO_STORE_KEK_FILE"
                          else "k7Qv2-" + os.urandom(40).hex())
        env[name] = str(secret)
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", CRYO_BROKER_URL="redis://127.0.0.1:6379/13",
               CRYO_VAR_DIR=str(tmp_path), CRYO_STORE_DIR=str(tmp_path))
    env.pop("CRYO_BROKER_URL_FILE")
    return env


def check_deploy(env):
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    result = check_deploy(documented_environment(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout + result.stderr


def test_without_a_store_kek_the_dashboard_refuses_to_start(tmp_path):
    result = check_deploy({"CRYO_SECRET_KEY": "k7Qv2-" + os.urandom(40).hex(), "CRYO_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0 and "CRYO_STORE_KEK (or CRYO_STORE_KEK_FILE) must be set" in result.stderr


def test_check_deploy_warns_without_it(tmp_path):
    env = {"CRYO_SECRET_KEY": "k7Qv2-" + os.urandom(40).hex(), "CRYO_VAR_DIR": str(tmp_path),
           "CRYO_STORE_KEK": base64.b64encode(os.urandom(32)).decode()}
    result = check_deploy(env)
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr, result.stderr


@pytest.mark.django_db
def test_plain_http_is_redirected_and_https_answers_with_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/login/")
    assert response.status_code == 301 and response.url == "https://testserver/login/"
    response = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
