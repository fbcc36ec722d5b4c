"""`python manage.py cryo ...`: Cryo's command line on the dashboard's machine.

Every `cryo` command works here too, as a local admin (`--as USERNAME`, audited with your OS user), answered by
the same API code in this process; and a few commands exist only here: `bootstrap` (first start of `make run`),
`control` (the control process), `api-token` (a personal token for a user).
"""
import os
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ...cli import main as cli
from ...cli.transport import CliError, LocalTransport
from ...errors import CryoError
from ...services import Origin



class Command(BaseCommand):
    help = "Checkpoint, restore and move containers; run the control process; bootstrap a first start."

    def add_arguments(self, parser):
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="Cryo user to act as (default: $CRYO_USER, else your OS user name)")
        sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
        cli.add_commands(sub)
        boot = sub.add_parser("bootstrap", help="create the admin account, its API token and the local host's join "
                                                "token when missing (used by `make run`)")
        boot.add_argument("--var-dir", required=True)
        boot.add_argument("--host", default="local", help="the local host's name")
        sub.add_parser("control", help="run the control process: reconciliation, resends, expiries (Celery beat and "
                                       "the cryo.control queue)")
        audit = sub.add_parser("audit", help="check the audit trail: `audit verify` walks its hash chain and reports "
                                             "the first row edited, deleted or inserted (exit 1)")
        audit.add_argument("audit_action", choices=["verify"], metavar="verify")
        store_key = sub.add_parser("store-key", help="`store-key rotate`: rewrap every archive's data key with "
                                                     "CRYO_STORE_KEK (the old key in CRYO_STORE_KEK_PREVIOUS)")
        store_key.add_argument("store_key_action", choices=["rotate"], metavar="rotate")
        token = sub.add_parser("api-token", help="create a personal API token for the acting user (printed once)")
        token.add_argument("--name", default="automation", help="what the token is for")
        token.add_argument("--scope", choices=["read", "operate"], default="operate",
                           help="operate (act as the user may; the default here) or read")
        token.add_argument("--days", type=int, default=None, help="how long it works (default CRYO_API_TOKEN_DAYS)")
        for gone in ("worker", "enrollment-token"):  # retired: any arguments, then one line on what to do instead
            sub.add_parser(gone, help=argparse_hidden(), add_help=False, prefix_chars="+").add_argument(
                "rest", nargs="*")

    def handle(self, *args, command, as_user, **options):
        for key in ("verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color", "skip_checks"):
            options.pop(key, None)
        if command in ("worker", "enrollment-token"):
            raise CommandError(
                "workers and the fleet-wide enrollment token are gone: an admin adds a host by name "
                "(`cryo host add NAME`, or Add host on the dashboard) and runs the printed command on the host: "
                "cryo-agent --url URL --join TOKEN")
        if command == "control":
            return self.control()
        if command == "bootstrap":
            return self.bootstrap(**options)
        if command == "audit":
            return self.verify_audit()
        if command == "store-key":
            return self.rotate_store_key()
        actor = self.actor(as_user)
        if command == "api-token":
            return self.api_token(actor, options["name"], options["scope"], options["days"])
        origin = Origin.cli()
        try:
            status = cli.run(LocalTransport(actor, origin), {"command": command, **options}, out=self.stdout)
        except (CliError, CryoError) as exc:
            raise CommandError(exc.message) from None
        if status:
            sys.exit(status)

    def verify_audit(self):
        from ...audit_chain import verify_chain

        report = verify_chain()
        if not report.ok:
            raise CommandError(report.describe(), returncode=1)
        self.stdout.write(report.describe())

    def rotate_store_key(self):
        from django.db import transaction

        from ... import store_keys
        from ...services import audit

        done, unreadable = store_keys.rotate()
        with transaction.atomic():
            audit.record(actor=None, actor_label=Origin.cli().source, action="store_key.rotate",
                         outcome="failed" if unreadable else "succeeded", origin=Origin.cli(),
                         details={"rewrapped": done, "unreadable": unreadable[:100],
                                  "kek": store_keys.kek_id(settings.CRYO_STORE_KEK)})
        self.stdout.write(f"{done} archive keys rewrapped with key-encryption key "
                          f"{store_keys.kek_id(settings.CRYO_STORE_KEK)}")
        if unreadable:
            raise CommandError(f"{len(unreadable)} archive keys are wrapped by a key-encryption key that is not "
                               f"configured (set it as CRYO_STORE_KEK_PREVIOUS and run this again): "
                               f"{', '.join(unreadable[:10])}", returncode=1)

    def actor(self, username):
        User = get_user_model()
        username = username or os.environ.get("CRYO_USER") or Origin.cli().source.split(":", 1)[1]
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active Cryo user named {username!r}; pass --as USERNAME (create users in the "
                               "admin, or with `python manage.py createsuperuser`)")
        return user

    def api_token(self, actor, name, scope, days):
        from ...services import tokens

        try:
            row, token = tokens.create_token(actor, name=name, scope=scope, days=days, origin=Origin.cli())
        except CryoError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(token)
        self.stderr.write(f"API token {row.prefix}… ({scope}) for {actor.get_username()} ({name}), until "
                          f"{row.expires_at:%Y-%m-%d}; it is shown only this once")

    def bootstrap(self, *, var_dir, host):
        from ...services.bootstrap import bootstrap

        for line in bootstrap(var_dir, host):
            self.stdout.write(line)

    def control(self):
        import threading

        from celery import current_app as app

        from ...control import run_rounds

        stop = threading.Event()
        threading.Thread(target=run_rounds, args=(stop,), name="cryo-control-rounds", daemon=True).start()
        schedule = os.path.join(settings.VAR_DIR, "control-beat-schedule")
        os.makedirs(settings.VAR_DIR, exist_ok=True)
        app.worker_main(["worker", "--beat", "--schedule", schedule, "--queues", "cryo.control", "--pool", "threads",
                         "--concurrency", "4",
                         "--hostname", "cryo-control@%h", "--loglevel", settings.CRYO_LOG_LEVEL,
                         "--without-gossip", "--without-mingle", "--without-heartbeat"])


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS
