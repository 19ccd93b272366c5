"""What the HTTP entry points share (the serving container, the bot's local server, the Slack stand-in):
a server and request handler hardened against hostile clients, and the process loop that serves until
SIGTERM (SageMaker, the local stack) or Ctrl-C.

- At most `max_connections` connections are served at once (one thread each); one more is answered
  503 and closed without a thread.
- A connection may sit idle between requests for `idle_timeout_s`; a request, from its first byte
  to its last body byte, must arrive within `request_timeout_s` (a client trickling one byte a
  second is cut off). Timeouts close the connection with one log line, never a traceback.
- Bodies need one plain `Content-Length` (digits only, at most `max_body_bytes`); chunked bodies are
  refused (411). Every method reads or refuses its body, so a body's bytes are never parsed as the
  next request on a keep-alive connection.
- Errors, including the stdlib's own (bad request line, unknown method), are JSON; unknown methods
  get 405 with `Allow`.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseServer

from handlers.settings import SettingsError, env_name

log = logging.getLogger("decorum.http")
JSON = "application/json"


@dataclass(frozen=True)
class ConnectionLimits:
    max_body_bytes: int = 1_000_000
    max_connections: int = 64  # concurrent connections (threads); SageMaker serverless allows 200 per endpoint
    idle_timeout_s: float = 60.0  # between requests on a keep-alive connection
    request_timeout_s: float = 10.0  # from a request's first byte to its last body byte

    def __post_init__(self) -> None:
        if min(self.max_body_bytes, self.max_connections) < 1 or min(self.idle_timeout_s,
                                                                      self.request_timeout_s) <= 0:
            raise SettingsError(f"{env_name('max_body_bytes')} and {env_name('max_connections')} must be >= 1, "
                                f"{env_name('idle_timeout_s')} and {env_name('request_timeout_s')} > 0")


class RequestError(Exception):
    """A request the server refuses: its status and a message safe to send back (no request data)."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def run_until_stopped(server: BaseServer) -> None:
    """Serves until SIGTERM (SageMaker, the local stack) or Ctrl-C, then closes the listening socket.

    A signal asks the loop to end at its next poll rather than raising wherever the main thread is: an
    exception raised while it started a connection's thread released that connection's slot twice, and
    the ValueError that followed swallowed the stop. shutdown() runs on a helper thread because it waits
    for the loop, which the main thread runs.
    """
    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, name="stop", daemon=True).start()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


class HardenedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the stdlib's 5 refuses connections in a burst

    def __init__(self, address: tuple[str, int], handler_class: type[BaseHTTPRequestHandler],
                 limits: ConnectionLimits):
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        super().__init__(address, handler_class)

    def process_request(self, request: socket.socket, client_address: tuple) -> None:  # type: ignore[override]
        if not self._slots.acquire(blocking=False):
            body = json.dumps({"error": "too many connections; retry"}).encode()
            try:
                request.settimeout(1.0)
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                                % (len(body), body))
            except OSError:
                pass
            self.shutdown_request(request)
            log.warning(json.dumps({"event": "connection_refused", "reason": "max_connections",
                                    "max_connections": self.limits.max_connections}))
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: socket.socket, client_address: tuple) -> None:  # type: ignore[override]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that vanished mid-request: one line, not the stdlib's traceback on stderr.
        error = sys.exc_info()[1]
        log.warning(json.dumps({"event": "connection_error", "error": error.__class__.__name__}))


class _DeadlineReader(io.RawIOBase):
    """The socket's read side, with the idle timeout between requests and the request deadline within one."""

    def __init__(self, sock: socket.socket, limits: ConnectionLimits):
        self.sock, self.limits = sock, limits
        self.deadline: float | None = None  # set by a request's first byte

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        timeout = self.limits.idle_timeout_s
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request deadline passed")
            timeout = min(timeout, left)
        self.sock.settimeout(timeout)
        received = self.sock.recv_into(buffer)
        if received and self.deadline is None:
            self.deadline = time.monotonic() + self.limits.request_timeout_s
        return received


class QuietHandler(BaseHTTPRequestHandler):
    """The request handler every Decorum HTTP surface builds on: keep-alive, no Nagle delay, the limits
    above, and no stdlib access log (it would print paths; each server logs what it may, never text)."""

    protocol_version = "HTTP/1.1"  # keep-alive: no TCP handshake per message
    disable_nagle_algorithm = True  # else a small response waits ~40 ms on the client's delayed ACK
    server: HardenedHTTPServer

    def setup(self) -> None:
        super().setup()
        self._reader = _DeadlineReader(self.connection, self.server.limits)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        super().handle_one_request()
        self._reader.deadline = None  # the next request's clock starts with its first byte

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass

    def log_error(self, format: str, *args: object) -> None:  # noqa: A002
        # The stdlib calls this for timeouts and malformed request lines; no request data is logged.
        log.warning(json.dumps({"event": "request_error", "detail": (format % args)[:80]}))

    # ------------------------------------------------------------------------------- responses

    def send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str | list[str]] | None = None
             ) -> None:
        self.connection.settimeout(self.server.limits.idle_timeout_s)  # a slow reader may not hold us forever
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, values in (headers or {}).items():
            if name.lower() in ("content-type", "content-length"):
                continue
            for value in values if isinstance(values, list) else [values]:
                self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, payload: dict, headers: Mapping[str, str] | None = None) -> None:
        self.send(status, json.dumps(payload, separators=(",", ":")).encode(), JSON, headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's errors (bad request line, header too long, unknown method) as JSON."""
        headers = {}
        if code == HTTPStatus.NOT_IMPLEMENTED:  # an unknown method: the resource exists, the method not
            code, message = HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed"
            headers["Allow"] = ", ".join(self.allowed_methods())
        self.close_connection = True
        self.send_json(code, {"error": message or HTTPStatus(code).phrase}, headers)

    def allowed_methods(self) -> list[str]:
        return [m for m in ("GET", "HEAD", "POST") if hasattr(self, f"do_{m}")]

    # ------------------------------------------------------------------------------- bodies

    def read_body(self) -> bytes:
        """The request body, within the limits; raises RequestError (and closes the connection) if not."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted: send Content-Length")
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
        length = lengths[0].strip()
        if len(set(lengths)) > 1 or not (length.isascii() and length.isdigit()):
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, "invalid Content-Length")
        size = int(length)
        if size > self.server.limits.max_body_bytes:
            self.close_connection = True  # do not read a body we refuse
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"body over {self.server.limits.max_body_bytes} bytes")
        try:
            body = self.rfile.read(size)
        except TimeoutError:
            self.close_connection = True
            raise RequestError(HTTPStatus.REQUEST_TIMEOUT,
                               f"body not received within {self.server.limits.request_timeout_s:g} s") from None
        if len(body) < size:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, "body shorter than Content-Length")
        return body

    def discard_body(self) -> None:
        """Reads and drops a body the method does not use, or closes the connection after this response."""
        if not self.headers.get("Content-Length") and not self.headers.get("Transfer-Encoding"):
            return
        try:
            self.read_body()
        except RequestError:
            self.close_connection = True
