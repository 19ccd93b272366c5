"""moto in server mode, made faithful where Decorum depends on it.

DynamoDB applies a conditional write to an item atomically; moto's threaded server evaluates the
condition and writes without a lock, so two concurrent claims of one message can both win
(seen: 7 double winners in 500 keys claimed 4 times each by 32 threads). Serializing requests into
moto's backends restores the guarantee the ledger relies on. Requests still arrive concurrently.
"""

from __future__ import annotations

import logging
import threading

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class _Serialized:
    def __init__(self, app):
        self.app, self.lock = app, threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return list(self.app(environ, start_response))


class AtomicMotoServer(ThreadedMotoServer):
    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0):
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access lines

    def _server_entry(self) -> None:
        app = _Serialized(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, threaded=True)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
