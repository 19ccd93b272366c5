"""The process loop both HTTP entry points share (the serving container, the bot's local server): serve
until SIGTERM (SageMaker, the local stack) or Ctrl-C, then close the socket."""

from __future__ import annotations

import signal
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
