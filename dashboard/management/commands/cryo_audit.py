"""`python manage.py cryo_audit verify`: walk the audit hash chain; exit 1 at the first edited, deleted or inserted
row."""
from django.core.management.base import BaseCommand, CommandError

from snapshots.audit_chain import verify_chain


class Command(BaseCommand):
    help = "Check the audit trail's hash chain and report the first row that was edited, deleted or inserted."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        sub.add_parser("verify", help="walk the chain from its first row to its head")

    def handle(self, *args, what, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(report.describe(), returncode=1)
        self.stdout.write(report.describe())
