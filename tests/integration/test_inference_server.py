"""The real inference server on a free port, driven over HTTP."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from handlers.inference.model import ToxicityModel
from handlers.inference.server import make_server
from handlers.inference.settings import Limits, ModelSettings
from tests.conftest import REPO, serve_in_thread


@pytest.fixture(scope="module")
def server(toxicity_model: ToxicityModel) -> Iterator[tuple[str, int]]:
    srv = make_server(toxicity_model, "127.0.0.1", 0, Limits(max_body_bytes=200_000, max_inputs=8))
    serve_in_thread(srv)
    yield srv.server_address[:2]
    srv.shutdown()
    srv.server_close()


def call(address, method: str, path: str, body: bytes | str | None = None,
         content_type: str | None = "application/json", headers: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection(*address, timeout=10)
    data = body.encode() if isinstance(body, str) else body
    conn.request(method, path, body=data, headers={**({"Content-Type": content_type} if content_type else {}),
                                                   **(headers or {})})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, json.loads(payload) if payload else {}


def invoke(address, payload) -> tuple[int, dict]:
    return call(address, "POST", "/invocations", json.dumps(payload))


def direct(model: ToxicityModel, text: str) -> np.ndarray:
    """The model's raw onnxruntime output for one unpadded text (no server code involved)."""
    ids = model.tokenizer.encode(text).ids
    if len(ids) > model.max_length:  # cut like a tokenizer does: keep the closing special token
        ids = ids[: model.max_length - 1] + ids[-1:]
    ids = np.array([ids], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return model.session.run(None, feed)[0][0]


def test_ping(server) -> None:
    status, body = call(server, "GET", "/ping", content_type=None)
    assert status == 200 and body["status"] == "ok"


def test_single_text_equals_direct_onnxruntime_output(server, toxicity_model: ToxicityModel) -> None:
    status, body = invoke(server, {"inputs": "you are a complete idiot"})
    assert status == 200 and body["model_version"] == toxicity_model.version
    (result,) = body["results"]
    expected = direct(toxicity_model, "you are a complete idiot")
    np.testing.assert_allclose([result["scores"]["toxic"], result["scores"]["hate"]], expected, atol=1e-5)
    assert result["flagged"] == [label for label, p, t in zip(toxicity_model.labels, expected,
                                                              toxicity_model.thresholds, strict=True) if p >= t]


def test_batch_is_padded_per_minibatch_yet_equals_single_calls(server, toxicity_model: ToxicityModel) -> None:
    texts = ["hi", "you are an idiot and everyone knows it", "thanks a lot for the help yesterday", "🙂🔥 emoji only"]
    status, body = invoke(server, {"inputs": texts})
    assert status == 200 and len(body["results"]) == len(texts)
    for text, result in zip(texts, body["results"], strict=True):
        # Dynamic int8 picks its activation scale per batch, so batch-mates shift scores slightly.
        np.testing.assert_allclose(list(result["scores"].values()), direct(toxicity_model, text), atol=3e-3)


def test_unicode_emoji_and_lone_surrogates(server) -> None:
    body = '{"inputs": ["caf\\u00e9 \\ud83d\\ude00", "broken \\ud800 surrogate", "\\u0000 nul"]}'
    status, payload = call(server, "POST", "/invocations", body)
    assert status == 200 and len(payload["results"]) == 3


def test_empty_string_is_a_valid_low_score(server) -> None:
    status, body = invoke(server, {"inputs": ["", "   \n"]})
    assert status == 200
    assert all(r["scores"] == {"toxic": 0.0, "hate": 0.0} and r["flagged"] == [] for r in body["results"])


def test_long_text_windows_take_the_max_per_label(toxicity_model: ToxicityModel) -> None:
    long_text = "the meeting notes are attached " * 80 + " you are a stupid worthless idiot"
    windows = toxicity_model._sequences(toxicity_model.tokenizer.encode(long_text).ids)
    assert len(windows) > 1 and all(len(w) <= toxicity_model.settings.window_tokens for w in windows)
    assert windows[-1][-2] == toxicity_model.tokenizer.encode(long_text).ids[-2]  # the end is covered
    per_window = [toxicity_model._run([w])[0] for w in windows]
    # Dynamic int8 picks its activation scale per batch, so batched windows shift slightly.
    np.testing.assert_allclose(toxicity_model.scores([long_text])[0], np.max(per_window, axis=0), atol=3e-3)


def test_truncate_mode_scores_the_head_only(toxicity_model: ToxicityModel) -> None:
    long_text = "the meeting notes are attached " * 80 + " you are a stupid worthless idiot"
    truncating = ToxicityModel.__new__(ToxicityModel)
    truncating.__dict__.update(toxicity_model.__dict__, settings=ModelSettings(long_text="truncate"))
    np.testing.assert_allclose(truncating.scores([long_text])[0], direct(toxicity_model, long_text), atol=1e-5)


def test_return_all_scores_false_keeps_flagged_labels_only(server) -> None:
    status, body = invoke(server, {"inputs": "you idiot", "parameters": {"return_all_scores": False}})
    assert status == 200
    assert set(body["results"][0]["scores"]) == set(body["results"][0]["flagged"])


@pytest.mark.parametrize(("content_type", "body", "status", "message"), [
    ("text/plain", '{"inputs": "x"}', 415, "Content-Type"),
    ("application/json", "{not json", 400, "not valid JSON"),
    ("application/json", "\xff\xfe", 400, "not valid JSON"),
    ("application/json", '["inputs"]', 400, '"inputs"'),
    ("application/json", '{"text": "x"}', 400, '"inputs"'),
    ("application/json", '{"inputs": 5}', 400, "string or a non-empty list"),
    ("application/json", '{"inputs": ["a", 5]}', 400, "string or a non-empty list"),
    ("application/json", '{"inputs": []}', 400, "non-empty list"),
    ("application/json", json.dumps({"inputs": ["a"] * 9}), 400, "at most 8 inputs"),
    ("application/json", '{"inputs": "x", "parameters": {"top_k": 2}}', 400, "unknown parameter"),
    ("application/json", '{"inputs": "x", "parameters": {"return_all_scores": "yes"}}', 400, "true or false"),
    ("application/json", json.dumps({"inputs": "x" * 300_000}), 413, "body over"),
], ids=["content-type", "invalid-json", "invalid-utf8", "not-an-object", "no-inputs", "inputs-number",
        "inputs-mixed", "inputs-empty", "too-many", "unknown-parameter", "parameter-type", "body-too-large"])
def test_bad_input_gets_a_4xx_json_error(server, content_type, body, status, message) -> None:
    got, payload = call(server, "POST", "/invocations", body, content_type)
    assert got == status and message in payload["error"]
    assert call(server, "GET", "/ping", content_type=None)[0] == 200  # still serving


def test_unknown_paths_and_methods(server) -> None:
    assert call(server, "GET", "/nope", content_type=None)[0] == 404
    assert call(server, "POST", "/nope", "{}")[0] == 404
    assert call(server, "PUT", "/invocations", "{}")[0] == 405


def test_sagemaker_runtime_path_works_with_boto3(server, toxicity_model: ToxicityModel) -> None:
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client("sagemaker-runtime", endpoint_url=f"http://{server[0]}:{server[1]}")
    response = client.invoke_endpoint(EndpointName="decorum-local", ContentType="application/json",
                                      Body=json.dumps({"inputs": "hello there"}))
    body = json.loads(response["Body"].read())
    assert body["model_version"] == toxicity_model.version
    with pytest.raises(ClientError) as error:
        client.invoke_endpoint(EndpointName="decorum-local", ContentType="application/json", Body=b'{"inputs": 3}')
    assert error.value.response["Error"]["Code"] == "ModelError"  # what SageMaker says for a container 4xx


def test_cli_starts_fast_and_never_logs_text(tiny_model: Path, tmp_path: Path) -> None:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "handlers.inference", "serve", "--model-dir", str(tiny_model),
                              "--host", "127.0.0.1", "--port", "0"], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        ready = json.loads(child.stdout.readline())
        assert ready["event"] == "ready"
        assert ready["heap_bounded"] is (sys.platform == "linux")  # glibc's mallopt took the arena settings
        address = ("127.0.0.1", ready["port"])
        assert call(address, "GET", "/ping", content_type=None)[0] == 200
        assert time.perf_counter() - started < 10  # generous: the figure lives in bench/
        assert invoke(address, {"inputs": "a very secret sentence"})[0] == 200
        assert invoke(address, {"oops": "another secret"})[0] == 400
    finally:
        child.terminate()
        output = child.communicate(timeout=10)[0]
    assert child.returncode == 0
    assert "secret" not in output and '"status": 400' in output


def test_cli_names_a_bad_setting(tiny_model: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "handlers.inference", "serve", "--model-dir", str(tiny_model),
                             "--port", "0"], cwd=REPO, capture_output=True, text=True, timeout=30,
                            env={**os.environ, "DECORUM_BATCH_SIZE": "abc"})
    assert result.returncode == 2 and "DECORUM_BATCH_SIZE must be an integer, got 'abc'" in result.stderr


def test_cli_reports_a_missing_model(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "handlers.inference", "serve", "--model-dir", str(tmp_path),
                             "--port", "0"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "lacks" in result.stderr


def test_served_tokenizer_reads_obfuscations_as_training_did(server) -> None:
    """The normalization lives in tokenizer.json: the server undoes leetspeak exactly as the build did."""
    status, body = invoke(server, {"inputs": ["K1ll all 1d10ts", "kill all idiots", "ｋｉｌｌ all id\u200biots"]})
    assert status == 200
    scores = [r["scores"] for r in body["results"]]
    assert scores[0] == scores[1] == scores[2]


def test_explanations_point_at_the_words_as_written(server) -> None:
    text = "Ünïcödé 🙂 you   absolute\tidiot!!"
    status, body = invoke(server, {"inputs": [text, ""], "parameters": {"explain": True}})
    assert status == 200
    words, empty = (r["explanation"] for r in body["results"])
    assert [w["text"] for w in words] == text.split() and empty == []
    assert all(text[w["start"]:w["end"]] == w["text"] for w in words)
    assert all(set(w["weights"]) == {"toxic", "hate"} for w in words)
    assert "explanation" not in invoke(server, {"inputs": text})[1]["results"][0]  # only when asked for


def test_an_explanation_is_the_exported_models_own_occlusion(server, toxicity_model: ToxicityModel) -> None:
    """Honest by construction: each weight is the served model's probability with the word minus without."""
    text = "shut up you stupid idiot"
    _, body = invoke(server, {"inputs": text, "parameters": {"explain": True}})
    full = toxicity_model.scores([text])[0]
    for word in body["results"][0]["explanation"]:
        without = toxicity_model.scores([text[: word["start"]] + text[word["end"]:]])[0]
        # Dynamic int8 picks its activation scale per batch: the batched variants shift by up to ~1e-3.
        assert word["weights"]["toxic"] == pytest.approx(float(full[0] - without[0]), abs=3e-3)


def test_long_text_explains_its_first_words_with_a_note(server) -> None:
    text = " ".join(f"word{i}" for i in range(100))
    _, body = invoke(server, {"inputs": text, "parameters": {"explain": True}})
    result = body["results"][0]
    assert len(result["explanation"]) == 64 and result["explanation"][-1]["text"] == "word63"
    assert "first 64 words" in result["explanation_note"]
    assert invoke(server, {"inputs": text, "parameters": {"explain": "yes"}})[0] == 400
