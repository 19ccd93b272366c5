"""The whole system on one machine, offline, with the code that runs in AWS:

    moto server (DynamoDB ledger, Secrets Manager)      in this process, on a free port
    inference server  (python -m handlers.inference)    a child process: the serving container's code
    Slack app         (python -m handlers.slack serve)  a child process: the Lambda's code, over HTTP
    Slack stand-in    (local.slack_standin)             in this process: signed events, Web API

Children are started with their own process group and stopped (SIGTERM, then SIGKILL) on exit,
so nothing outlives the stack. Each step's failure names the step.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from handlers.inference.artifact import missing_files
from handlers.settings import to_env
from handlers.slack.config import BotConfig
from local.slack_standin import SlackStandIn

REPO = Path(__file__).resolve().parent.parent
ENDPOINT_NAME = "decorum-local"
LEDGER_TABLE = "decorum-local-ledger"
FEEDBACK_TABLE = "decorum-local-feedback"
SETTINGS_TABLE = "decorum-local-settings"
SECRET_ID = "decorum/local/slack"
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1"}


class StackError(RuntimeError):
    def __init__(self, step: str, detail: str):
        super().__init__(f"step '{step}' failed: {detail}")
        self.step = step


@dataclass
class Ports:
    moto: int = 0
    inference: int = 0
    slack_app: int = 0
    standin: int = 0


@dataclass
class LocalStack:
    model_dir: Path
    ports: Ports = field(default_factory=Ports)
    children: list[subprocess.Popen] = field(default_factory=list)
    standin: SlackStandIn | None = None
    moto_url: str = ""
    inference_url: str = ""
    slack_url: str = ""
    logs_dir: Path | None = None


def _check_port(port: int, step: str) -> None:
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise StackError(step, f"port {port} is already in use (choose another with its --*-port flag)") from None


def _spawn(step: str, args: list[str], env: dict[str, str], log_path: Path, timeout_s: float = 30.0
           ) -> tuple[subprocess.Popen, dict]:
    """Starts a child that prints one JSON line with "event": "ready"; returns it and that line."""
    log = log_path.open("w")
    child = subprocess.Popen([sys.executable, *args], cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE,
                             stderr=log, text=True, start_new_session=True)
    ready: dict = {}

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            log.write(line)
            log.flush()
            if not ready and '"ready"' in line:
                try:
                    ready.update(json.loads(line))
                except ValueError:
                    pass

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not ready:
        if child.poll() is not None:
            time.sleep(0.1)
            raise StackError(step, f"exited with {child.returncode}; see {log_path}: "
                             f"{log_path.read_text()[-600:].strip()}")
        if time.monotonic() > deadline:
            _stop(child)
            raise StackError(step, f"not ready after {timeout_s:.0f} s; see {log_path}")
        time.sleep(0.02)
    return child, ready


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is not None:
        return
    try:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=5)
    except ProcessLookupError:
        pass


def _provision(moto_url: str, bot_token: str, signing_secret: str) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1",
                            aws_access_key_id="local", aws_secret_access_key="local")
    for table in (LEDGER_TABLE, FEEDBACK_TABLE, SETTINGS_TABLE):
        dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        dynamodb.update_time_to_live(TableName=table,
                                     TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    secrets = boto3.client("secretsmanager", endpoint_url=moto_url, region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
    secrets.create_secret(Name=SECRET_ID, SecretString=json.dumps({"bot_token": bot_token,
                                                                   "signing_secret": signing_secret}))


@contextmanager
def local_stack(model_dir: Path, ports: Ports | None = None, logs_dir: Path | None = None) -> Iterator[LocalStack]:
    from local.aws import AtomicMotoServer

    ports = ports or Ports()
    stack = LocalStack(Path(model_dir), ports)
    stack.logs_dir = Path(logs_dir or REPO / "build" / "local-logs")
    stack.logs_dir.mkdir(parents=True, exist_ok=True)
    bot_token, signing_secret = "xoxb-local-" + os.urandom(8).hex(), os.urandom(16).hex()
    moto = None
    try:
        if missing_files(stack.model_dir):
            raise StackError("model", f"no model at {stack.model_dir} (run `make model` first)")
        for step, port in (("moto", ports.moto), ("inference server", ports.inference),
                           ("slack app", ports.slack_app), ("slack stand-in", ports.standin)):
            _check_port(port, step)

        moto = AtomicMotoServer(port=ports.moto)
        moto.start()
        stack.moto_url = moto.url
        _provision(stack.moto_url, bot_token, signing_secret)

        child, ready = _spawn("inference server", ["-m", "handlers.inference", "serve", "--model-dir",
                              str(stack.model_dir), "--host", "127.0.0.1", "--port", str(ports.inference)],
                              {}, stack.logs_dir / "inference.log")
        stack.children.append(child)
        stack.inference_url = f"http://127.0.0.1:{ready['port']}"

        stack.standin = SlackStandIn(bot_token, signing_secret, port=ports.standin).start()
        env = {
            **FAKE_AWS,
            # The local workspace keeps the text of voted messages, so the demo can export training rows.
            **to_env(BotConfig(endpoint_name=ENDPOINT_NAME, ledger_table=LEDGER_TABLE, slack_secret_id=SECRET_ID,
                               slack_api_url=stack.standin.api_url, dynamodb_endpoint_url=stack.moto_url,
                               secrets_endpoint_url=stack.moto_url, sagemaker_endpoint_url=stack.inference_url,
                               feedback_table=FEEDBACK_TABLE, feedback_keep_text=True,
                               settings_table=SETTINGS_TABLE)),
            "POWERTOOLS_METRICS_DISABLED": "true",  # EMF goes to CloudWatch in AWS; locally it is noise
        }
        child, ready = _spawn("slack app", ["-m", "handlers.slack", "serve", "--port", str(ports.slack_app)], env,
                              stack.logs_dir / "slack-app.log")
        stack.children.append(child)
        stack.slack_url = ready["url"]
        stack.standin.request_url = stack.slack_url
        yield stack
    finally:
        for child in reversed(stack.children):
            _stop(child)
        if stack.standin:
            stack.standin.stop()
        if moto:
            moto.stop()
