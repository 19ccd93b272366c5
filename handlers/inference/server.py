"""SageMaker's container contract over the standard library's HTTP server.

- `GET /ping`: 200 once the model is loaded (it is loaded before the port opens).
- `POST /invocations`: the wire format of `handlers/invocation.py`.
- `POST /endpoints/<name>/invocations`: the SageMaker runtime API's path, so boto3's
  `sagemaker-runtime` client can talk to this server unchanged when run locally; model errors there
  come back as SageMaker's `ModelError` (HTTP 424) like the real service.

Bad input gets a 4xx with a JSON error; nothing a client sends makes a 500 or stops the server.
Request logs carry sizes, statuses and timings, never the text.
"""

from __future__ import annotations

import json
import logging
import re
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from handlers.httpd import QuietHandler
from handlers.inference.model import ToxicityModel
from handlers.inference.settings import Limits
from handlers.invocation import (
    CONTENT_TYPE,
    INPUTS,
    MODEL_VERSION,
    PARAMETER_NAMES,
    PARAMETERS,
    RESULTS,
    RETURN_ALL_SCORES,
    response_payload,
)

log = logging.getLogger("decorum.inference")
RUNTIME_PATH = re.compile(r"^/endpoints/[A-Za-z0-9\-]{1,63}/invocations$")


class RequestError(Exception):
    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def parse_request(body: bytes, content_type: str, limits: Limits) -> tuple[list[str], bool]:
    """Validates an /invocations body; returns (texts, return_all_scores)."""
    if content_type.split(";")[0].strip().lower() != CONTENT_TYPE:
        raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type must be {CONTENT_TYPE}")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {exc.__class__.__name__}") from None
    if not isinstance(payload, dict) or INPUTS not in payload:
        raise RequestError(HTTPStatus.BAD_REQUEST, f'body must be an object with "{INPUTS}"')
    inputs = payload[INPUTS]
    if isinstance(inputs, str):
        texts = [inputs]
    elif isinstance(inputs, list) and inputs and all(isinstance(t, str) for t in inputs):
        texts = inputs
    else:
        raise RequestError(HTTPStatus.BAD_REQUEST, f'"{INPUTS}" must be a string or a non-empty list of strings')
    if len(texts) > limits.max_inputs:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"at most {limits.max_inputs} inputs per request")
    parameters = payload.get(PARAMETERS) or {}
    if not isinstance(parameters, dict):
        raise RequestError(HTTPStatus.BAD_REQUEST, f'"{PARAMETERS}" must be an object')
    unknown = set(parameters) - PARAMETER_NAMES
    if unknown:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"unknown parameter(s): {sorted(unknown)}")
    return_all = parameters.get(RETURN_ALL_SCORES, True)
    if not isinstance(return_all, bool):
        raise RequestError(HTTPStatus.BAD_REQUEST, f'"{RETURN_ALL_SCORES}" must be true or false')
    return texts, return_all


class InferenceServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the stdlib's 5 refuses connections in a burst

    def __init__(self, address: tuple[str, int], model: ToxicityModel, limits: Limits | None = None,
                 handler_class: type[BaseHTTPRequestHandler] | None = None):
        super().__init__(address, handler_class or InferenceHandler)
        self.model = model
        self.limits = limits or Limits()

    def invoke(self, body: bytes, content_type: str) -> dict:
        texts, return_all = parse_request(body, content_type, self.limits)
        return response_payload(self.model.version, self.model.classify(texts, return_all))


class InferenceHandler(QuietHandler):
    server: InferenceServer
    error_content_type = "application/json"
    error_message_format = '{"error": "%(message)s"}'

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        # Access lines go through `_log`: statuses, sizes and timings, never paths with user data or text.
        self.send(status, json.dumps(payload, separators=(",", ":")).encode(), CONTENT_TYPE, headers)

    def _log(self, status: int, started: float, inputs: int = 0) -> None:
        log.info(json.dumps({"path": self.path.split("?")[0][:64], "status": status, "inputs": inputs,
                             "ms": round((time.perf_counter() - started) * 1e3, 3)}))

    def do_GET(self) -> None:
        started = time.perf_counter()
        if self.path == "/ping":
            self._send(200, {"status": "ok", MODEL_VERSION: self.server.model.version})
        else:
            self._send(404, {"error": "not found"})
        self._log(200 if self.path == "/ping" else 404, started)

    def do_POST(self) -> None:
        started = time.perf_counter()
        runtime_api = bool(RUNTIME_PATH.match(self.path))
        if self.path != "/invocations" and not runtime_api:
            self._discard_body()
            self._send(404, {"error": "not found"})
            return self._log(404, started)
        try:
            body = self._read_body()
            response = self.server.invoke(body, self.headers.get("Content-Type", ""))
        except RequestError as exc:
            self._error(exc.status, exc.message, runtime_api)
            return self._log(exc.status, started)
        except Exception:
            log.exception("inference failed")
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error", runtime_api)
            return self._log(500, started)
        self._send(200, response, {"X-Amzn-Invoked-Production-Variant": "local"} if runtime_api else None)
        self._log(200, started, len(response[RESULTS]))

    def do_PUT(self) -> None:
        self._discard_body()
        self._send(405, {"error": "method not allowed"})

    do_DELETE = do_PATCH = do_PUT

    def _error(self, status: int, message: str, runtime_api: bool) -> None:
        if runtime_api:  # what the SageMaker runtime service answers when a container fails a request
            self._send(424, {"message": message, "OriginalStatusCode": int(status)},
                       {"x-amzn-ErrorType": "ModelError:"})
        else:
            self._send(status, {"error": message})

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, "invalid Content-Length") from None
        if size > self.server.limits.max_body_bytes:
            self.close_connection = True  # do not read a body we refuse
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"body over {self.server.limits.max_body_bytes} bytes")
        return self.rfile.read(size)

    def _discard_body(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and int(length) <= self.server.limits.max_body_bytes:
            self.rfile.read(int(length))
        else:
            self.close_connection = True


def make_server(model: ToxicityModel, host: str, port: int, limits: Limits | None = None,
          handler_class: type[BaseHTTPRequestHandler] | None = None) -> InferenceServer:
    """Binds the server (port 0: a free port) and returns it; call serve_forever() to run."""
    return InferenceServer((host, port), model, limits, handler_class)
