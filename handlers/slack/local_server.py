"""Serves the Bolt app over plain HTTP for local runs (`python -m handlers.slack serve`).

A threading server (Bolt's own development server handles one request at a time): Slack sends
events concurrently and each must be acked within 3 s. Lazy listeners run on Bolt's thread pool.
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer

from slack_bolt import App, BoltRequest

from handlers.httpd import QuietHandler

MAX_BODY_BYTES = 1_000_000  # Slack's event payloads are a few KB


class BoltHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the stdlib's 5 refuses connections in a burst

    def __init__(self, address: tuple[str, int], app: App, path: str = "/slack/events"):
        super().__init__(address, _Handler)
        self.app, self.path = app, path


class _Handler(QuietHandler):  # Bolt and the checker log what matters, without payloads
    server: BoltHTTPServer

    def _reply(self, status: int, body: str, headers: dict | None = None) -> None:
        content_type = next(iter((headers or {}).get("content-type", [])), "text/plain;charset=utf-8")
        self.send(status, body.encode(), content_type, headers)

    def do_GET(self) -> None:
        self._reply(200 if self.path == "/health" else 404, '{"ok": true}' if self.path == "/health" else "")

    def do_POST(self) -> None:
        if self.path.split("?")[0] != self.server.path:
            self.close_connection = True
            return self._reply(404, "")
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            return self._reply(413 if length.isdigit() else 411, "")
        body = self.rfile.read(int(length)).decode("utf-8", errors="replace")
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        response = self.server.app.dispatch(BoltRequest(body=body, headers=headers))
        self._reply(response.status, response.body, response.headers)


def make_server(app: App, host: str, port: int, path: str = "/slack/events") -> BoltHTTPServer:
    """Binds the server (port 0: a free port) and returns it; `handlers.httpd.run_until_stopped` runs it."""
    return BoltHTTPServer((host, port), app, path)
