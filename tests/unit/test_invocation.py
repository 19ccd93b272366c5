"""handlers/invocation.py: the wire format the server writes and the bot's classifier reads."""

from __future__ import annotations

import json

import pytest

from handlers.invocation import Result, parse_response, parse_thresholds, request_body, response_payload


def test_a_response_reads_back_as_written() -> None:
    results = [Result({"toxic": 0.9, "hate": 0.1}, ["toxic"]), Result({"toxic": 0.0, "hate": 0.0}, [])]
    payload = json.loads(json.dumps(response_payload("v1", results, {"toxic": 0.5, "hate": 0.4})))
    assert parse_response(payload) == ("v1", results)
    assert parse_thresholds(payload) == {"toxic": 0.5, "hate": 0.4}
    assert parse_thresholds({"results": []}) == {}  # an older server


def test_requests_carry_only_known_parameters() -> None:
    assert json.loads(request_body(["a", "b"], return_all_scores=False)) == {
        "inputs": ["a", "b"], "parameters": {"return_all_scores": False}}
    with pytest.raises(ValueError, match="unknown parameter"):
        request_body("a", top_k=2)


@pytest.mark.parametrize("payload", [{}, {"results": [{"scores": {"toxic": "high"}, "flagged": []}]},
                                     {"results": [{"flagged": []}]}])
def test_a_body_of_another_shape_raises(payload: dict) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        parse_response(payload)
