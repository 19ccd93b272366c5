"""The toxicity model as the serving container runs it: tokenizers + onnxruntime + numpy, nothing else.

- One message is run alone and unpadded (padding a 26-token tweet to 128 would cost 4x), on a
  session whose kernels use every core: 0.86 ms instead of 1.38 ms with one core (26 tokens).
- A list is sorted by length and padded per mini-batch, so similar lengths share a batch, and the
  mini-batches run concurrently, one per core, on a second session with single-threaded kernels:
  cores sharing one kernel pool contend (1,449 messages/s on 2 cores), cores each running their own
  mini-batch do not (1,707/s).
- Long text (over the model's max_length tokens) is either cut (`truncate`) or split into
  overlapping windows of `window_tokens` whose scores are combined by taking the max per label
  (`window`, the default: an insult at the end of a long message still counts). Windows are
  shorter than max_length on purpose: one insult in 120 tokens of meeting notes scores 0.18 with
  the quick model, in 60 tokens 0.8. At most `max_windows` windows are scored; beyond, text is cut.
- Empty or whitespace-only text scores 0 for every label without running the model.
"""

from __future__ import annotations

import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from handlers.inference.artifact import INPUT_NAMES, MODEL_FILE, OUTPUT_NAME, TOKENIZER_FILE, Manifest, missing_files
from handlers.inference.settings import ModelSettings
from handlers.invocation import Result, Word

ENCODE_CHUNK_CHARS = 16_384  # texts are tokenized in chunks of about this many characters
EXPLAIN_MAX_WORDS = 64
WORD = re.compile(r"\S+")  # a word as written: what a reader would point at


class WorkLimitError(ValueError):
    def __init__(self, needed: int, allowed: int):
        super().__init__(f"the inputs need at least {needed} model windows; at most {allowed} per request")
        self.needed, self.allowed = needed, allowed


def _session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_mem_pattern = False
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ToxicityModel:
    def __init__(self, model_dir: str | Path, settings: ModelSettings | None = None):
        model_dir = Path(model_dir)
        self.settings = settings or ModelSettings()
        missing = missing_files(model_dir)
        if missing:
            raise FileNotFoundError(f"model directory {model_dir} lacks {missing}")
        manifest = Manifest.read(model_dir)
        self.version: str = manifest.version
        self.labels: list[str] = list(manifest.labels)
        self.thresholds = np.array([manifest.thresholds[label] for label in self.labels], dtype=np.float32)
        self.label_thresholds = {label: float(manifest.thresholds[label]) for label in self.labels}
        self.max_length: int = manifest.max_length

        self.tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()  # long text is cut or windowed below, on ids
        bos_eos = self.tokenizer.encode("").ids
        self._bos, self._eos = bos_eos[:1], bos_eos[1:]

        cores = self.settings.intra_op_threads or _usable_cpus()
        self.session = _session(model_dir / MODEL_FILE, cores)  # one sequence, every core
        self._whole_machine = threading.Lock()
        self._admission = threading.BoundedSemaphore(cores)
        self._list_session, self._pool = self.session, None
        if cores > 1:  # lists: one single-threaded run per core at a time
            self._list_session = _session(model_dir / MODEL_FILE, 1)
            self._pool = ThreadPoolExecutor(cores, thread_name_prefix="minibatch")

    # ------------------------------------------------------------------------------- tokenizing

    def _sequences(self, ids: list[int]) -> list[list[int]]:
        """Model-sized id sequences for one text: itself, its head, or overlapping windows."""
        if len(ids) <= self.max_length:
            return [ids]
        body = ids[len(self._bos) : len(ids) - len(self._eos)]
        specials = len(self._bos) + len(self._eos)
        if self.settings.long_text == "truncate":
            return [self._bos + body[: self.max_length - specials] + self._eos]
        room = min(self.settings.window_tokens, self.max_length) - specials
        step = max(1, room - self.settings.window_overlap)
        starts = range(0, max(1, len(body) - self.settings.window_overlap), step)
        return [self._bos + body[s : s + room] + self._eos for s in list(starts)[: self.settings.max_windows]]

    def _encode(self, texts: list[str], rows: list[int], max_sequences: int | None
                ) -> tuple[list[int], list[list[int]]]:
        """The model inputs for `texts` (each owned by its row), tokenized a chunk at a time so that a
        request over `max_sequences` is refused after tokenizing little more than the bound allows."""
        owners: list[int] = []
        sequences: list[list[int]] = []
        chunk: list[tuple[int, str]] = []

        def flush() -> None:
            # Lone surrogates (valid in JSON, not in UTF-8) would make the tokenizer raise.
            clean = [text.encode("utf-8", "replace").decode("utf-8") for _, text in chunk]
            encoded = self.tokenizer.encode_batch(clean) if len(clean) > 1 else [self.tokenizer.encode(clean[0])]
            for (row, _), encoding in zip(chunk, encoded, strict=True):
                for seq in self._sequences(encoding.ids):
                    owners.append(row)
                    sequences.append(seq)
            chunk.clear()
            if max_sequences is not None and len(sequences) > max_sequences:
                raise WorkLimitError(len(sequences), max_sequences)

        chars = 0
        for row, text in zip(rows, texts, strict=True):
            text = text[: self.settings.max_text_chars]  # a token is at least a character: bounds the tokens too
            chunk.append((row, text))
            chars += len(text)
            if chars >= ENCODE_CHUNK_CHARS:
                flush()
                chars = 0
        if chunk:
            flush()
        return owners, sequences

    # ------------------------------------------------------------------------------- inference

    def _run(self, batch: list[list[int]], session: ort.InferenceSession | None = None) -> np.ndarray:
        width = max(len(s) for s in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for i, seq in enumerate(batch):
            ids[i, : len(seq)] = seq
            mask[i, : len(seq)] = 1
        feed = dict(zip(INPUT_NAMES, (ids, mask, np.zeros_like(ids)), strict=True))
        if session is not None and session is not self.session:
            return session.run([OUTPUT_NAME], feed)[0]  # the pool: at most one run per core
        with self._whole_machine:  # its kernels use every core: concurrent runs only contend and add memory
            return self.session.run([OUTPUT_NAME], feed)[0]

    def scores(self, texts: list[str], max_sequences: int | None = None) -> np.ndarray:
        """Probabilities [len(texts), labels]. Raises `WorkLimitError` before running the model when the
        texts need more than `max_sequences` model inputs (texts and their windows)."""
        # As many requests at work as there are cores (the CPU is the bottleneck anyway); the rest wait
        # holding only their bodies, not their encodings and tensors.
        with self._admission:
            return self._scores(texts, max_sequences)

    def _scores(self, texts: list[str], max_sequences: int | None) -> np.ndarray:
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        if not todo:
            return out
        owners, sequences = self._encode([texts[i] for i in todo], todo, max_sequences)
        if len(sequences) == 1:
            out[owners[0]] = self._run(sequences)[0]
            return out
        order = np.argsort([len(s) for s in sequences], kind="stable")
        size = self.settings.batch_size
        chunks = [order[start : start + size] for start in range(0, len(order), size)]
        probabilities = np.empty((len(sequences), len(self.labels)), dtype=np.float32)

        def run(index: np.ndarray) -> None:
            probabilities[index] = self._run([sequences[i] for i in index], self._list_session)

        if self._pool is not None and len(chunks) > 1:
            list(self._pool.map(run, chunks))
        else:
            for index in chunks:
                probabilities[index] = self._run([sequences[i] for i in index])
        np.maximum.at(out, np.asarray(owners), probabilities)
        return out

    def classify(self, texts: list[str], return_all_scores: bool = True, max_sequences: int | None = None,
                 explain: bool = False) -> list[Result]:
        probabilities = self.scores(texts, max_sequences)
        explanations = self.explain(texts, max_sequences, probabilities) if explain else [(None, None)] * len(texts)
        results = []
        for row, (words, note) in zip(probabilities, explanations, strict=True):
            flagged = [label for label, p, t in zip(self.labels, row, self.thresholds, strict=True) if p >= t]
            scores = {label: round(float(p), 6) for label, p in zip(self.labels, row, strict=True)}
            if not return_all_scores:
                scores = {label: scores[label] for label in flagged}
            results.append(Result(scores, flagged, words, note))
        return results

    def explain(self, texts: list[str], max_sequences: int | None = None, scored: np.ndarray | None = None
                ) -> list[tuple[list[Word], str | None]]:
        """Occlusion over words, on this model: a word's weight for a label is how much the label's
        probability falls when the word is left out. Every variant of every text is scored in one call
        (it counts against `max_sequences`). Past `EXPLAIN_MAX_WORDS` words, the text up to that word is
        explained, with a note saying so. `scored`: the texts' own probabilities, if already computed."""
        spans, batch = [], []
        for i, text in enumerate(texts):
            words = list(WORD.finditer(text))[: EXPLAIN_MAX_WORDS + 1]
            shown = words[:EXPLAIN_MAX_WORDS]
            cut = len(words) > EXPLAIN_MAX_WORDS
            excerpt = text[: shown[-1].end()] if cut else text
            base = None if cut or scored is None else scored[i]  # the whole text was scored already
            if base is None:
                batch.append(excerpt)
            spans.append((shown, cut, base))
            batch.extend(excerpt[: w.start()] + excerpt[w.end() :] for w in shown)
        probabilities = self.scores(batch, max_sequences)
        out, at = [], 0
        for shown, cut, base in spans:
            if base is None:
                base, at = probabilities[at], at + 1
            variants = probabilities[at : at + len(shown)]
            at += len(shown)
            words = [Word(w.group(), w.start(), w.end(),
                          {label: round(float(base[j] - variant[j]), 6) for j, label in enumerate(self.labels)})
                     for w, variant in zip(shown, variants, strict=True)]
            out.append((words, f"only the first {EXPLAIN_MAX_WORDS} words are explained" if cut else None))
        return out
