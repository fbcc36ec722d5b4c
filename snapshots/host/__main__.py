"""cryo-agent: the one process on a host that holds its engine's socket.

    cryo-agent --url https://cryo.example.com --join TOKEN     first start: join with the token an admin made
    cryo-agent --url https://cryo.example.com                  later starts: the credential is in --state-dir
"""
import argparse
import logging
import os
import signal
import sys

OLD_VARIABLES = ("CRYO_ENROLLMENT_TOKEN", "CRYO_ENROLLMENT_TOKEN_FILE")
STOPPED_BY_DASHBOARD = 78  # EX_CONFIG: systemd's RestartPreventExitStatus keeps a revoked agent from looping


def parse(argv):
    parser = argparse.ArgumentParser(prog="cryo-agent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("CRYO_URL"),
                        help="the dashboard's URL (default: $CRYO_URL)")
    parser.add_argument("--join", metavar="TOKEN", default=None,
                        help="one-time join token (first start only; `cryo host add NAME` makes one)")
    parser.add_argument("--state-dir", default=os.environ.get("CRYO_AGENT_STATE_DIR", "/var/lib/cryo-agent"),
                        help="private directory for the host's credential (default: /var/lib/cryo-agent)")
    parser.add_argument("--engine", choices=("docker", "podman"), default="docker",
                        help="the host's container engine (default: docker)")
    parser.add_argument("--docker-url", default=None,
                        help="Docker engine URL (default: $DOCKER_HOST or the local socket)")
    parser.add_argument("--podman-url", default=None,
                        help="Podman service URL, with --engine podman (default: $CONTAINER_HOST or "
                             "unix:///run/podman/podman.sock)")
    parser.add_argument("--concurrency", type=int, default=2, help="jobs run at once on this host")
    parser.add_argument("--engine-timeout", type=int, default=900,
                        help="seconds an engine call may take (a 1 GiB checkpoint takes ~17 s)")
    parser.add_argument("--insecure", action="store_true", help="do not verify the dashboard's TLS certificate")
    parser.add_argument("--token", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.token or any(os.environ.get(v) for v in OLD_VARIABLES):
        sys.exit("cryo-agent: the fleet-wide enrollment token is gone. An admin adds this host by name "
                 "(`cryo host add NAME`, or Add host on the dashboard) and gives you a one-time join token; "
                 "start the agent once with: cryo-agent --url URL --join TOKEN")
    if not args.url:
        sys.exit("cryo-agent: the dashboard's URL is needed: --url https://cryo.example.com (or $CRYO_URL)")
    from .agent import Agent, AgentStopped
    from ..errors import CryoError

    if args.engine == "podman" and args.docker_url:
        sys.exit("cryo-agent: --docker-url is for a Docker host; a Podman host's service is --podman-url URL")
    if args.engine == "docker" and args.podman_url:
        sys.exit("cryo-agent: --podman-url needs --engine podman")
    engine_url = args.podman_url if args.engine == "podman" else args.docker_url
    agent = Agent(args.url, state_dir=args.state_dir, docker_url=engine_url, concurrency=args.concurrency,
                  engine_timeout=args.engine_timeout, verify=not args.insecure, engine_kind=args.engine)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    signal.signal(signal.SIGINT, lambda *_: agent.stop())
    try:
        agent.start(join_token=args.join)
        agent.serve()
    except AgentStopped as exc:  # the dashboard said no (revoked, removed, another agent): restarting won't help
        print(f"cryo-agent: {exc}", file=sys.stderr)
        sys.exit(STOPPED_BY_DASHBOARD)
    except CryoError as exc:
        sys.exit(f"cryo-agent: {exc}")


if __name__ == "__main__":
    main()
