"""SageMaker's container contract over the standard library's HTTP server.

- `GET /ping`: 200 once the model is loaded (it is loaded before the port opens).
- `POST /invocations`: the wire format of `handlers/invocation.py`.
- `POST /endpoints/<name>/invocations`: the SageMaker runtime API's path, so boto3's
  `sagemaker-runtime` client can talk to this server unchanged when run locally; model errors there
  come back as SageMaker's `ModelError` (HTTP 424) like the real service.

Bad input gets a 4xx with a JSON error; nothing a client sends makes a 500 or stops the server.
Connections, time, bytes and work per request are bounded (`settings.Limits`, `handlers/httpd.py`).
Request logs carry sizes, statuses and timings, never the text.
"""

from __future__ import annotations

import json
import logging
import re
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

from handlers.httpd import HardenedHTTPServer, QuietHandler, RequestError
from handlers.inference.model import ToxicityModel, WorkLimitError
from handlers.inference.settings import Limits
from handlers.invocation import (
    CONTENT_TYPE,
    EXPLAIN,
    INPUTS,
    MODEL_VERSION,
    PARAMETER_NAMES,
    PARAMETERS,
    RESULTS,
    RETURN_ALL_SCORES,
    response_payload,
)
from handlers.settings import env_name

log = logging.getLogger("decorum.inference")
RUNTIME_PATH = re.compile(r"^/endpoints/[A-Za-z0-9\-]{1,63}/invocations$")


def parse_request(body: bytes, content_type: str, limits: Limits) -> tuple[list[str], bool, bool]:
    """Validates an /invocations body; returns (texts, return_all_scores, explain)."""
    if content_type.split(";")[0].strip().lower() != CONTENT_TYPE:
        raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type must be {CONTENT_TYPE}")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: not JSON, or an integer past Python's digit limit; RecursionError: deep nesting.
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
        raise RequestError(HTTPStatus.BAD_REQUEST, f"unknown parameter(s): {sorted(unknown)[:5]}"[:200])
    flags = {name: parameters.get(name, name == RETURN_ALL_SCORES) for name in (RETURN_ALL_SCORES, EXPLAIN)}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise RequestError(HTTPStatus.BAD_REQUEST, f'"{name}" must be true or false')
    return texts, flags[RETURN_ALL_SCORES], flags[EXPLAIN]


class InferenceServer(HardenedHTTPServer):
    def __init__(self, address: tuple[str, int], model: ToxicityModel, limits: Limits | None = None,
                 handler_class: type[BaseHTTPRequestHandler] | None = None):
        limits = limits or Limits()
        if limits.max_windows_per_request < model.settings.max_windows:
            raise ValueError(f"{env_name('max_windows_per_request')} ({limits.max_windows_per_request}) must be at "
                             f"least {env_name('max_windows')} ({model.settings.max_windows}): one long message "
                             "would be refused")
        super().__init__(address, handler_class or InferenceHandler, limits)
        self.model = model
        self.limits: Limits

    def invoke(self, body: bytes, content_type: str) -> dict:
        texts, return_all, explain = parse_request(body, content_type, self.limits)
        try:
            results = self.model.classify(texts, return_all, max_sequences=self.limits.max_windows_per_request,
                                          explain=explain)
        except WorkLimitError as exc:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, str(exc)) from None
        return response_payload(self.model.version, results, self.model.label_thresholds)


class InferenceHandler(QuietHandler):
    server: InferenceServer

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        # Access lines go through `_log`: statuses, sizes and timings, never paths with user data or text.
        self.send_json(status, payload, headers)

    def _log(self, status: int, started: float, inputs: int = 0) -> None:
        path = self.path.split("?")[0]
        log.info(json.dumps({"path": path if path in ("/ping", "/invocations") or RUNTIME_PATH.match(path)
                             else "other", "method": self.command[:8], "status": status, "inputs": inputs,
                             "ms": round((time.perf_counter() - started) * 1e3, 3)}))

    def do_GET(self) -> None:
        started = time.perf_counter()
        self.discard_body()  # a body on a GET must not be read as the next request
        status = 200 if self.path == "/ping" else 404
        if status == 200:
            self._send(200, {"status": "ok", MODEL_VERSION: self.server.model.version})
        else:
            self._send(404, {"error": "not found"})
        self._log(status, started)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        started = time.perf_counter()
        runtime_api = bool(RUNTIME_PATH.match(self.path))
        if self.path != "/invocations" and not runtime_api:
            self.discard_body()
            self._send(404, {"error": "not found"})
            return self._log(404, started)
        try:
            body = self.read_body()
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

    def _error(self, status: int, message: str, runtime_api: bool) -> None:
        if runtime_api:  # what the SageMaker runtime service answers when a container fails a request
            self._send(424, {"message": message, "OriginalStatusCode": int(status)},
                       {"x-amzn-ErrorType": "ModelError:"})
        else:
            self._send(status, {"error": message})


def make_server(model: ToxicityModel, host: str, port: int, limits: Limits | None = None,
                handler_class: type[BaseHTTPRequestHandler] | None = None) -> InferenceServer:
    """Binds the server (port 0: a free port) and returns it; `handlers.httpd.run_until_stopped` runs it."""
    return InferenceServer((host, port), model, limits, handler_class)
