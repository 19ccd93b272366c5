"""The whole system as `make demo` runs it: child processes, moto server, the Slack stand-in."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from local.stack import Ports, StackError, local_stack
from tests.conftest import REPO

TRIGGER = "triangular_flag_on_post"


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_stack_replies_once_per_message_and_leaves_nothing_behind(tiny_model: Path, tmp_path: Path) -> None:
    with local_stack(tiny_model, logs_dir=tmp_path) as stack:
        assert get_json(stack.inference_url + "/ping")["status"] == "ok"
        standin = stack.standin
        parent = standin.post_user_message("general", "plans for friday?")
        messages = {
            "benign": standin.post_user_message("general", "lunch at noon works for me"),
            "offensive": standin.post_user_message("general", "you are a pathetic idiot"),
            "thread": standin.post_user_message("general", "shut up, moron", thread_ts=parent),
            "empty": standin.post_user_message("general", ""),
        }
        for ts in messages.values():
            assert [d.status for d in standin.react("general", ts, TRIGGER)] == [200]
        standin.react("general", messages["benign"], TRIGGER, user="USECOND")  # a second person
        standin.react("general", messages["benign"], "tada")  # not the trigger
        for name, ts in messages.items():
            replies = standin.wait_for_replies("general", ts, 1, timeout_s=15)
            assert len(replies) == 1, name
            expected_thread = parent if name == "thread" else ts
            assert replies[0]["thread_ts"] == expected_thread
        outcomes = {n: standin.replies_to("general", ts)[0]["metadata"]["event_payload"]["outcome"]
                    for n, ts in messages.items()}
        assert outcomes["empty"] == "nothing_to_check"
        assert {outcomes[n] for n in ("benign", "offensive", "thread")} <= {"flagged", "clean"}
        assert len(standin.workspace.bot_posts) == len(messages)
        pids = [child.pid for child in stack.children]
        ports = [int(stack.inference_url.rsplit(":", 1)[1]), int(stack.slack_url.split(":")[2].split("/")[0]),
                 int(stack.moto_url.rsplit(":", 1)[1]), int(standin.base_url.rsplit(":", 1)[1])]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert all(port_is_free(port) for port in ports)


def test_a_taken_port_is_named_with_its_step(tiny_model: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with (pytest.raises(StackError, match=f"step 'slack app' failed: port {taken} is already in use"),
              local_stack(tiny_model, Ports(slack_app=taken), logs_dir=tmp_path)):
            pass


def test_a_missing_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="step 'model' failed"), local_stack(tmp_path, logs_dir=tmp_path):
        pass


def test_demo_command_passes_on_the_tiny_model(tiny_model: Path) -> None:
    """`python -m local demo` end to end; the tiny model's verdicts are noise, so only the plumbing
    (one reply per message, ignored emoji, shutdown) is checked here, not which verdict."""
    result = subprocess.run([sys.executable, "-m", "local", "demo", "--model-dir", str(tiny_model),
                             "--any-verdict"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "demo passed" in result.stdout and "event -> ack" in result.stdout


def _children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_run_stops_its_children_on_sigterm(tiny_model: Path) -> None:
    import signal
    import time

    run = subprocess.Popen([sys.executable, "-m", "local", "run", "--model-dir", str(tiny_model), "--standin-port", "0",
                            "--slack-port", "0", "--inference-port", "0", "--moto-port", "0"],
                           cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "Decorum is running locally" in run.stdout.readline()
        children = _children_of(run.pid)
        assert len(children) == 2  # the inference server and the Slack app
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=20) == 0
    finally:
        run.kill()
    time.sleep(0.2)
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
