"""The endpoint's wire format, shared by the serving container (handlers/inference/server.py) and the
bot's classifier (handlers/slack/classifier.py), which ship in different images: both copy this file.

Request:  {"inputs": "text" | ["t1", ...], "parameters": {"return_all_scores": bool}}
Response: {"model_version": "...", "results": [{"scores": {label: p}, "flagged": [label, ...]}, ...]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CONTENT_TYPE = "application/json"
INPUTS, PARAMETERS = "inputs", "parameters"
RETURN_ALL_SCORES = "return_all_scores"
PARAMETER_NAMES = frozenset({RETURN_ALL_SCORES})
MODEL_VERSION, RESULTS, SCORES, FLAGGED = "model_version", "results", "scores", "flagged"


def request_body(inputs: str | list[str], **parameters: Any) -> bytes:
    unknown = set(parameters) - PARAMETER_NAMES
    if unknown:
        raise ValueError(f"unknown parameter(s): {sorted(unknown)}")
    payload: dict[str, Any] = {INPUTS: inputs}
    if parameters:
        payload[PARAMETERS] = parameters
    return json.dumps(payload).encode()


@dataclass(frozen=True)
class Result:
    scores: dict[str, float]
    flagged: list[str]

    def to_json(self) -> dict[str, Any]:
        return {SCORES: self.scores, FLAGGED: self.flagged}


def response_payload(model_version: str, results: list[Result]) -> dict[str, Any]:
    return {MODEL_VERSION: model_version, RESULTS: [r.to_json() for r in results]}


def parse_response(payload: dict[str, Any]) -> tuple[str, list[Result]]:
    """(model version, results); KeyError, TypeError or ValueError on a body of another shape."""
    results = [Result({k: float(v) for k, v in r[SCORES].items()}, [str(f) for f in r[FLAGGED]])
               for r in payload[RESULTS]]
    return str(payload.get(MODEL_VERSION, "unknown")), results
