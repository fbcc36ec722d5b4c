"""A real OpenID Connect provider for the single sign-on tests: tests/oidc/provider.mjs (the `oidc-provider` npm
package, installed by deploy/oidc-provider.sh), run with node on 127.0.0.1, and a person signing in through its
real login form over HTTP."""
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from .engine import in_ci

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_DIR = ROOT / "tests" / "oidc"
CLIENT_ID, CLIENT_SECRET = "cryo-tests", "a-client-secret-for-tests-only"


def missing(reason):
    message = f"{reason}; run deploy/oidc-provider.sh"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class Provider:
    def __init__(self, redirect_uri, accounts_file):
        self.accounts_file = accounts_file
        self.accounts = {}
        self.write_accounts()
        env = {**os.environ, "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET, "REDIRECT_URI": redirect_uri,
               "ACCOUNTS_FILE": str(accounts_file), "NODE_NO_WARNINGS": "1"}
        self.process = subprocess.Popen(["node", str(PROVIDER_DIR / "provider.mjs")], cwd=PROVIDER_DIR, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.issuer = self._wait_for_issuer()
        self.config = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()

    def _wait_for_issuer(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.5)
            if ready:
                line = self.process.stdout.readline()
                if line.startswith("{"):
                    return json.loads(line)["issuer"]
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"the OIDC provider did not start: {self.process.stderr.read()[-2000:]}")

    def write_accounts(self):
        self.accounts_file.write_text(json.dumps(self.accounts))

    def add(self, account_id, password, *, groups=(), email=None, preferred_username=None):
        self.accounts[account_id] = {"password": password, "email": email or f"{account_id}@idp.example.test",
                                     "groups": list(groups), "preferred_username": preferred_username or account_id}
        self.write_accounts()

    def settings(self):
        """The Django settings that point Cryo at this provider."""
        return {
            "CRYO_OIDC_ENABLED": True, "CRYO_OIDC_ISSUER": self.issuer,
            "OIDC_RP_CLIENT_ID": CLIENT_ID, "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": self.config["authorization_endpoint"],
            "OIDC_OP_TOKEN_ENDPOINT": self.config["token_endpoint"],
            "OIDC_OP_USER_ENDPOINT": self.config["userinfo_endpoint"],
            "OIDC_OP_JWKS_ENDPOINT": self.config["jwks_uri"],
            "OIDC_RP_SCOPES": "openid email profile groups",
        }

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_provider(redirect_uri, accounts_file):
    if shutil.which("node") is None:
        missing("node is not installed")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        missing("the oidc-provider package is not installed in tests/oidc")
    return Provider(redirect_uri, accounts_file)


def sign_in(site_url, provider, username, password, next_url="/jobs/"):
    """A person's browser, over HTTP: Cryo sends it to the provider, which shows its login form; the person fills
    it in; the provider sends the browser back to Cryo with a code. Returns the session and the last response."""
    browser = requests.Session()
    page = browser.get(f"{site_url}/oidc/authenticate/", params={"next": next_url}, timeout=20)
    assert page.url.startswith(f"{provider.issuer}/interaction/"), page.url
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    answer = browser.post(f"{provider.issuer}{action}", data={"username": username, "password": password},
                          timeout=30)
    return browser, answer
