"""`cryo`: Cryo's command line, a client of the JSON API (CRYO_URL, CRYO_TOKEN), usable from any machine."""
import argparse
import sys

from . import commands
from .transport import CliError, HttpTransport


def add_commands(sub):
    for spec in commands.SPECS:
        parser = sub.add_parser(spec.name, help=spec.help, description=spec.help)
        for args, kwargs in spec.arguments:
            parser.add_argument(*args, **kwargs)
        if spec.acts:
            parser.add_argument("--no-wait", action="store_true", help="print the job id and return at once")
            parser.add_argument("--wait-timeout", type=float, default=None, metavar="SECONDS",
                                help="stop waiting after this long (the job goes on)")


def parser():
    root = argparse.ArgumentParser(prog="cryo", description=__doc__.split(",")[0])
    root.add_argument("--url", default=None, help="the dashboard (default: $CRYO_URL)")
    root.add_argument("--traceback", action="store_true", help="show the full traceback of an error")
    add_commands(root.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return root


def run(api, options, out=sys.stdout):
    """Run one parsed command against a transport; returns the exit status."""
    spec = commands.BY_NAME[options.pop("command")]
    spec.handler(api, out, **options)
    return 0


def main(argv=None):
    options = vars(parser().parse_args(argv))
    traceback = options.pop("traceback")
    url = options.pop("url")
    try:
        return run(HttpTransport(url=url), options)
    except CliError as exc:
        if traceback:
            raise
        print(f"cryo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cryo: interrupted (a requested job goes on; see `cryo jobs`)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
