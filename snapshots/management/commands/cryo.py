"""`python manage.py cryo ...`: Cryo's command line. Every action goes through snapshots.services."""
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ... import services
from ...cli import commands
from ...errors import CryoError


class Command(BaseCommand):
    help = "Checkpoint, restore and move Docker containers; run a host's worker."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", metavar="COMMAND", required=True)
        for spec in commands.SPECS:
            p = sub.add_parser(spec.name, help=spec.help, description=spec.help)
            for args, kwargs in spec.arguments:
                p.add_argument(*args, **kwargs)
            if spec.acts:
                p.add_argument("--as", dest="as_user", metavar="USERNAME",
                               help="Cryo user to act as (default: $CRYO_USER, else your OS user name)")
                p.add_argument("--no-wait", action="store_true", help="print the job id and return at once")
                p.add_argument("--wait-timeout", type=float, default=None, metavar="SECONDS",
                               help="stop waiting after this long (the job goes on)")

    def handle(self, *args, action, **options):
        spec = commands.BY_NAME[action]
        try:
            if spec.acts:
                options["actor"] = self.actor(options.get("as_user"))
                options["origin"] = services.Origin.cli()
            spec.handler(self, **options)
        except CryoError as exc:
            raise CommandError(exc.message) from None

    def actor(self, username):
        User = get_user_model()
        username = username or os.environ.get("CRYO_USER") or services.Origin.cli().source.split(":", 1)[1]
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(
                f"no active Cryo user named {username!r}; pass --as USERNAME (create users in the admin, "
                "or with `python manage.py createsuperuser`)"
            )
        return user

    def say(self, text=""):
        self.stdout.write(text)
