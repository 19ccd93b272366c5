"""Serves the Bolt app over plain HTTP for local runs (`python -m handlers.slack serve`).

A threading server (Bolt's own development server handles one request at a time): Slack sends
events concurrently and each must be acked within 3 s. Lazy listeners run on Bolt's thread pool.
Connections, time and bodies are bounded by `handlers/httpd.py`; every request passes the intake
(`intake.py`: signature on the raw body, then parsing, then shape) before Bolt sees it.
"""

from __future__ import annotations

from slack_bolt import App, BoltRequest

from handlers.httpd import ConnectionLimits, HardenedHTTPServer, QuietHandler, RequestError
from handlers.slack.intake import MAX_BODY_BYTES, Intake

LIMITS = ConnectionLimits(max_body_bytes=MAX_BODY_BYTES, max_connections=64, idle_timeout_s=60.0,
                          request_timeout_s=10.0)


class BoltHTTPServer(HardenedHTTPServer):
    def __init__(self, address: tuple[str, int], app: App, intake: Intake, path: str = "/slack/events"):
        super().__init__(address, _Handler, LIMITS)
        self.app, self.intake, self.path = app, intake, path


class _Handler(QuietHandler):  # Bolt and the checker log what matters, without payloads
    server: BoltHTTPServer

    def _reply(self, status: int, body: str, headers: dict | None = None) -> None:
        content_type = next(iter((headers or {}).get("content-type", [])), "text/plain;charset=utf-8")
        self.send(status, body.encode(), content_type, headers)

    def do_GET(self) -> None:
        self.discard_body()
        path, _, query = self.path.partition("?")
        flow = self.server.app.oauth_flow
        if path == "/health":
            self.send_json(200, {"ok": True})
        elif flow is not None and path in (flow.install_path, flow.redirect_uri_path):
            # A browser on the OAuth pages: no Slack signature; the state parameter protects the redirect.
            request = BoltRequest(body="", query=query, headers={k.lower(): [v] for k, v in self.headers.items()})
            response = (flow.handle_installation(request) if path == flow.install_path
                        else flow.handle_callback(request))
            self._reply(response.status, response.body, response.headers)
        else:
            self.send_json(404, {"error": "not found"})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        if self.path.split("?")[0] != self.server.path:
            self.discard_body()
            return self.send_json(404, {"error": "not found"})
        try:
            raw = self.read_body()
        except RequestError as exc:
            return self.send_json(exc.status, {"error": exc.message})
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        screened = self.server.intake.screen(raw, headers)
        if screened.status is not None:
            return self.send(screened.status, screened.body.encode(), "application/json")
        response = self.server.app.dispatch(BoltRequest(body=raw.decode("utf-8"), headers=headers))
        self._reply(response.status, response.body, response.headers)


def make_server(app: App, intake: Intake, host: str, port: int, path: str = "/slack/events") -> BoltHTTPServer:
    """Binds the server (port 0: a free port) and returns it; `handlers.httpd.run_until_stopped` runs it."""
    return BoltHTTPServer((host, port), app, intake, path)
