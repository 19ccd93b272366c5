"""moto in server mode, made faithful where Decorum depends on it.

- DynamoDB applies a conditional write to an item atomically; moto's threaded server evaluates the
  condition and writes without a lock, so two concurrent claims of one message can both win
  (seen: 7 double winners in 500 keys claimed 4 times each by 32 threads). Serializing requests into
  moto's backends restores the guarantee the ledger relies on. Requests still arrive concurrently.
- SageMaker's UpdateEndpoint, which moto lacks (the model deployer calls it): the endpoint moves to
  the new configuration at once, or ends `Failed` as SageMaker's does when the new model's archive
  cannot be read (here: it is not in moto's S3), keeping its previous configuration.
"""

from __future__ import annotations

import logging
import threading

from moto.core.responses import ActionResult
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.s3.models import s3_backends
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class _Serialized:
    def __init__(self, app):
        self.app, self.lock = app, threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return list(self.app(environ, start_response))


def _update_endpoint(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    name, config_name = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
    if name not in backend.endpoints:
        raise ValidationError(message=f"Could not find endpoint '{name}'.")
    config = backend.describe_endpoint_config(config_name)
    endpoint = backend.endpoints[name]
    model = backend.describe_model(config["ProductionVariants"][0]["ModelName"])
    bucket, _, key = (model.primary_container or {}).get("ModelDataUrl", "").removeprefix("s3://").partition("/")
    s3 = s3_backends[backend.account_id][backend.partition]
    readable = bucket in s3.buckets and key in s3.buckets[bucket].keys
    if readable:
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.endpoint_status, endpoint.failure_reason = "InService", None
    else:
        endpoint.endpoint_status = "Failed"
        endpoint.failure_reason = "Failed to download model data: the archive could not be read."
    return ActionResult({"EndpointArn": endpoint.arn})


SageMakerResponse.update_endpoint = _update_endpoint  # type: ignore[attr-defined]


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
