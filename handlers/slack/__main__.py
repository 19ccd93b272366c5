"""Local entry points, the same code as on Lambda:

    python -m handlers.slack serve --port 3000   # Events API over HTTP (local Slack stand-in, ngrok...)
    python -m handlers.slack socket              # Socket Mode, for a real workspace (needs SLACK_APP_TOKEN)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from handlers.slack.app import create_app
from handlers.slack.config import LOG_SERVICE, BotConfig, ConfigError, load_credentials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handlers.slack")
    sub = parser.add_subparsers(dest="command", required=True)
    http = sub.add_parser("serve", help="serve the Events API request URL over HTTP")
    http.add_argument("--host", default="127.0.0.1")
    http.add_argument("--port", type=int, default=3000)
    sub.add_parser("socket", help="connect to Slack over Socket Mode (SLACK_APP_TOKEN)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(message)s", stream=sys.stdout)
    from aws_lambda_powertools import Logger

    Logger(service=LOG_SERVICE)  # the JSON formatter the checker's logs use on Lambda too
    try:
        config = BotConfig.from_env()
        credentials = load_credentials(config)
        app = create_app(config, credentials)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "socket":
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        if not os.environ.get("SLACK_APP_TOKEN"):
            print("configuration error: SLACK_APP_TOKEN is not set", file=sys.stderr)
            return 2
        SocketModeHandler(app, os.environ["SLACK_APP_TOKEN"]).start()
        return 0

    from handlers.httpd import run_until_stopped
    from handlers.slack.intake import Intake
    from handlers.slack.local_server import make_server

    try:
        server = make_server(app, Intake(credentials.signing_secret), args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f'{{"event": "ready", "url": "http://{args.host}:{server.server_address[1]}/slack/events"}}', flush=True)
    run_until_stopped(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
