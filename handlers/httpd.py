"""What the HTTP entry points share (the serving container, the bot's local server): a quiet keep-alive
request handler, and the process loop that serves until SIGTERM (SageMaker, the local stack) or
Ctrl-C, then closes the socket."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from socketserver import BaseServer


def _stop(*_: object) -> None:
    # Raised in the main thread, out of serve_forever (calling shutdown() from there would deadlock).
    raise KeyboardInterrupt


def run_until_stopped(server: BaseServer) -> None:
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """The request handler every Decorum HTTP surface builds on: keep-alive, no Nagle delay, no stdlib
    access log (it would print paths; each server logs what it may, never text)."""

    protocol_version = "HTTP/1.1"  # keep-alive: no TCP handshake per message
    disable_nagle_algorithm = True  # else a small response waits ~40 ms on the client's delayed ACK

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass

    def send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str | list[str]] | None = None
             ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, values in (headers or {}).items():
            if name.lower() in ("content-type", "content-length"):
                continue
            for value in values if isinstance(values, list) else [values]:
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
