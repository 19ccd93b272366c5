"""Local entry points, the same code as on Lambda:

    python -m handlers.slack serve --port 3000   # Events API over HTTP (local Slack stand-in, ngrok...)
    python -m handlers.slack socket              # Socket Mode, for a real workspace (needs SLACK_APP_TOKEN)
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from handlers.slack.app import create_app
from handlers.slack.config import LOG_SERVICE, BotConfig, ConfigError, load_credentials


def _stop(*_: object) -> None:
    # Raised in the main thread, out of serve_forever (calling shutdown() from there would deadlock).
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handlers.slack")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the Events API request URL over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    sub.add_parser("socket", help="connect to Slack over Socket Mode (SLACK_APP_TOKEN)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(message)s", stream=sys.stdout)
    from aws_lambda_powertools import Logger

    Logger(service=LOG_SERVICE)  # the JSON formatter the checker's logs use on Lambda too
    try:
        config = BotConfig.from_env()
        app = create_app(config, load_credentials(config))
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

    from handlers.slack.local_server import serve as serve_http

    try:
        server = serve_http(app, args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)  # SageMaker and the local stack stop us with SIGTERM
    print(f'{{"event": "ready", "url": "http://{args.host}:{server.server_address[1]}/slack/events"}}', flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
