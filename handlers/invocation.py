"""The endpoint's wire format, shared by the serving container (handlers/inference/server.py) and the
bot's classifier (handlers/slack/classifier.py), which ship in different images: both copy this file.

Request:  {"inputs": "text" | ["t1", ...], "parameters": {"return_all_scores": bool, "explain": bool}}
Response: {"model_version": "...", "thresholds": {label: t}, "results": [{"scores": {label: p}, "flagged": [label, ...],
           "explanation": [{"text", "start", "end", "weights": {label: w}}, ...], "explanation_note": "..."}]}
(`explanation` only when asked for: per word, in order, its span in the input (Python string indices,
code points) and how much each label's probability falls when the word is left out. `thresholds`: the
model's own, at or above which a label is flagged; a client may apply an offset to them.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CONTENT_TYPE = "application/json"
INPUTS, PARAMETERS = "inputs", "parameters"
RETURN_ALL_SCORES, EXPLAIN = "return_all_scores", "explain"
PARAMETER_NAMES = frozenset({RETURN_ALL_SCORES, EXPLAIN})
MODEL_VERSION, THRESHOLDS, RESULTS, SCORES, FLAGGED = "model_version", "thresholds", "results", "scores", "flagged"
EXPLANATION, EXPLANATION_NOTE = "explanation", "explanation_note"


def request_body(inputs: str | list[str], **parameters: Any) -> bytes:
    unknown = set(parameters) - PARAMETER_NAMES
    if unknown:
        raise ValueError(f"unknown parameter(s): {sorted(unknown)}")
    payload: dict[str, Any] = {INPUTS: inputs}
    if parameters:
        payload[PARAMETERS] = parameters
    return json.dumps(payload).encode()


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    end: int
    weights: dict[str, float]  # per label: the probability lost when the word is left out


@dataclass(frozen=True)
class Result:
    scores: dict[str, float]
    flagged: list[str]
    explanation: list[Word] | None = None
    explanation_note: str | None = None  # e.g. only the first words were explained

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {SCORES: self.scores, FLAGGED: self.flagged}
        if self.explanation is not None:
            out[EXPLANATION] = [{"text": w.text, "start": w.start, "end": w.end, "weights": w.weights}
                                for w in self.explanation]
        if self.explanation_note:
            out[EXPLANATION_NOTE] = self.explanation_note
        return out


def response_payload(model_version: str, results: list[Result], thresholds: dict[str, float]) -> dict[str, Any]:
    return {MODEL_VERSION: model_version, THRESHOLDS: thresholds, RESULTS: [r.to_json() for r in results]}


def parse_thresholds(payload: dict[str, Any]) -> dict[str, float]:
    """The model's thresholds ({} from a server that does not send them)."""
    return {str(k): float(v) for k, v in (payload.get(THRESHOLDS) or {}).items()}


def parse_response(payload: dict[str, Any]) -> tuple[str, list[Result]]:
    """(model version, results); KeyError, TypeError or ValueError on a body of another shape."""
    results = [Result({k: float(v) for k, v in r[SCORES].items()}, [str(f) for f in r[FLAGGED]],
                      [Word(str(w["text"]), int(w["start"]), int(w["end"]),
                            {k: float(v) for k, v in w["weights"].items()}) for w in r[EXPLANATION]]
                      if EXPLANATION in r else None, r.get(EXPLANATION_NOTE))
               for r in payload[RESULTS]]
    return str(payload.get(MODEL_VERSION, "unknown")), results
