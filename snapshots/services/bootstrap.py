"""First start on one machine (`make run`): an admin, a token for the CLI, and the local host with a join token.

Everything it creates is kept in private files (0600) in the var directory, and nothing is created twice.
"""
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from ..models import ApiToken, Host, HostCredential
from . import audit
from .hosts import add_host, new_join_token
from .origin import Origin


def write_private(path, text):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    os.replace(tmp, path)


def bootstrap(var_dir, host_name):
    var = Path(var_dir)
    origin = Origin.system("bootstrap")
    User = get_user_model()
    admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if admin is None:
        password = secrets.token_urlsafe(12)
        admin = User.objects.create_superuser("admin", "", password)
        write_private(var / "admin-password", password)
        yield f"Created the admin account: sign in as 'admin' with the password in {var / 'admin-password'}"
    token_file = var / "admin-token"
    if not token_file.exists() or ApiToken.authenticate(token_file.read_text().strip()) is None:
        with transaction.atomic():
            row, token = ApiToken.issue(admin, "cli on this machine (make run)", scope=ApiToken.Scope.OPERATE)
            audit.record(actor=admin, action="api_token.create", outcome="succeeded", origin=origin,
                         details={"token": row.prefix, "name": row.name, "scope": row.scope})
        write_private(token_file, token)
        yield f"Created an API token for {admin.get_username()} in {token_file} (the CLI uses it from this checkout)"
    write_private(var / "url", settings.CRYO_PUBLIC_URL)
    host = Host.all_objects.filter(name=host_name).first()
    credential_file = var / "agent" / "credential"
    has_credential = host is not None and credential_file.exists() and HostCredential.find(
        credential_file.read_text().strip()) is not None
    if has_credential:
        return
    if host is None or host.removed_at:
        _host, token = add_host(admin, host_name, origin=origin)
    else:
        token = new_join_token(admin, host, origin=origin)
    write_private(var / "join-token", token)
    yield f"Added host {host_name}; its agent joins with the one-time token in {var / 'join-token'}"
