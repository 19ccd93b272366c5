"""Labeled data: loaders per dataset layout, label mapping, deterministic splits and the training mix.

Every loader maps its dataset's own labels onto Decorum's labels (default `toxic`, `hate`):

| set                | toxic (offensive, insulting or hateful)      | hate (attacks a group)          |
|--------------------|----------------------------------------------|---------------------------------|
| davidson           | hate or offensive; soft: (hate+offensive)/n  | hate; soft: hate votes / n      |
| civil_toxic_spans  | at least half did not tick `not toxic`       | unknown (masked)                |
| stormfront         | `hate` (noHate: 0; relation, idk/skip dropped)| `hate`                         |
| convabuse          | abuse vote fraction                          | 0 if no annotator saw abuse, else masked (weak) |
| edos               | sexist: 1; not sexist: masked                | sexist: 1; not sexist: masked   |
| implicit_hate      | implicit or explicit hate: 1; not hate: 0    | the same                        |
| toxigen_prompts    | the authors' class (hateful 1, neutral 0)    | the same                        |
| mlma               | soft from the label set (`toxic` column)     | soft (`hate` column)            |
| jigsaw             | any of its 6 labels                          | identity_hate                   |
| generic            | a `toxic` column (0/1 or a fraction)         | a `hate` column; absent or empty: masked |

A label a set does not annotate is NaN: the hard-label loss and the metrics skip it, while the
teacher's soft targets still teach it to the student. EDOS annotated sexism only: its not-sexist
posts include insults and other hate, so they are masked, never read as non-toxic. CSVs may be
gzipped (`<name>.csv.gz`). The model is uncased, so the case that differs by class in some sets
(toxigen_prompts' hateful lines are lowercase) is invisible to it; `formatting_shortcuts` measures
what formatting alone would predict. A `context` set is benign text (every label 0; checked at
load): besides its own rows, some of its training sentences are put beside other sets' training rows
(`model_build/context.py`), and it has no positives to rank, so metrics report how much of it is flagged.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import io
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from model_build.claims import HATEFUL_CLAIMS, claim_rows
from model_build.config import DataConfig, DatasetConfig
from model_build.context import add_context
from model_build.frames import framed_rows
from model_build.identity import balanced_negatives, clean_rows, hateful_copies, non_protected_copies
from model_build.noise import add_noise
from model_build.stance import HOSTILE_KINDS, stance_rows

log = logging.getLogger(__name__)
csv.field_size_limit(10_000_000)

DAVIDSON_CLASSES = ("hate", "offensive", "neither")
JIGSAW_LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")


class DataError(ValueError):
    """A dataset file is missing, empty or malformed; the message names the file (and row)."""


@dataclass
class LabeledSet:
    """Column-oriented rows of one or more datasets."""

    texts: list[str]
    soft: np.ndarray  # [n, labels] float32 targets in [0, 1] (vote fractions where known), NaN: unknown
    hard: np.ndarray  # [n, labels] float32 0/1, NaN: unknown
    source: np.ndarray  # [n] dataset name per row
    davidson_class: np.ndarray  # [n] int8: 0 hate, 1 offensive, 2 neither; -1 outside davidson

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: np.ndarray) -> LabeledSet:
        return LabeledSet(
            texts=[self.texts[i] for i in index],
            soft=self.soft[index],
            hard=self.hard[index],
            source=self.source[index],
            davidson_class=self.davidson_class[index],
        )

    @staticmethod
    def concat(parts: list[LabeledSet]) -> LabeledSet:
        return LabeledSet(
            texts=[t for p in parts for t in p.texts],
            soft=np.concatenate([p.soft for p in parts]),
            hard=np.concatenate([p.hard for p in parts]),
            source=np.concatenate([p.source for p in parts]),
            davidson_class=np.concatenate([p.davidson_class for p in parts]),
        )


@dataclass
class Splits:
    train: LabeledSet
    validation: LabeledSet
    test: LabeledSet
    data_hash: str


# ---------------------------------------------------------------------------------------- reading


def _read_bytes(location: str) -> bytes:
    if location.startswith("s3://"):
        import boto3  # only the cloud build reads S3

        bucket, _, key = location[len("s3://") :].partition("/")
        try:
            return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise DataError(f"cannot read {location}: {exc}") from exc
    try:
        return Path(location).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {location}: {exc.strerror}") from None


def _locate(path: str, default_file: str) -> str:
    """A dataset path is its CSV or the folder (local or S3 prefix) that holds `default_file`, which may
    be gzipped (`default_file.gz`: how the repository's data/ stores it)."""
    if path.endswith((".csv", ".csv.gz")):
        return path
    location = path.rstrip("/") + "/" + default_file
    if "://" not in location and not Path(location).exists() and Path(location + ".gz").exists():
        return location + ".gz"
    return location


def _read_rows(location: str, required: tuple[str, ...], hasher: hashlib._Hash) -> list[dict[str, str]]:
    raw = _read_bytes(location)
    if location.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{location}: not a readable gzip file ({exc})") from None
    hasher.update(raw)  # the CSV's bytes: the same data hashes the same, gzipped or not
    text = raw.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise DataError(f"{location}: file is empty")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"{location}: missing column(s) {missing}; found {header}")
    reader.fieldnames = header
    rows = list(reader)
    if not rows:
        raise DataError(f"{location}: no data rows")
    return rows


class Row:
    """One CSV row and where it stands in its file, so that every error names both."""

    def __init__(self, values: dict[str, str], location: str, line: int):
        self.values, self.location, self.line = values, location, line

    def __getitem__(self, column: str) -> str:
        return self.values[column]

    def __contains__(self, column: str) -> bool:
        return column in self.values

    def error(self, message: str) -> DataError:
        return DataError(f"{self.location}, row {self.line}: {message}")

    def number(self, column: str) -> float:
        try:
            value = float(self.values[column])
        except (TypeError, ValueError):
            raise self.error(f"column {column!r} is not a number: {self.values[column]!r:.40}") from None
        if not np.isfinite(value):
            raise self.error(f"column {column!r} is not finite")
        return value

    def fraction(self, column: str) -> float:
        """A label column: a number in [0, 1] (a vote fraction, or 0/1)."""
        value = self.number(column)
        if not 0 <= value <= 1:
            raise self.error(f"{column} must be in [0, 1], got {value}")
        return value


@dataclass(frozen=True)
class Example:
    """One row's text and labels; a label a set does not annotate is absent (NaN in the arrays)."""

    text: str
    soft: dict[str, float]
    hard: dict[str, float]
    davidson_class: int = -1

    @classmethod
    def of(cls, text: str, value: dict[str, float]) -> Example:
        """Soft labels that are also the hard ones (one class per row)."""
        return cls(text, value, value)

    @classmethod
    def thresholded(cls, text: str, soft: dict[str, float]) -> Example:
        """Vote fractions, hard where at least half the annotators agree."""
        return cls(text, soft, {label: float(v >= 0.5) for label, v in soft.items()})


def _clean(text: str | None) -> str:
    return html.unescape(text or "").strip()


class _Builder:
    """Collects rows of one dataset, skipping (and counting) rows without text."""

    def __init__(self, name: str, labels: tuple[str, ...]):
        self.name, self.labels = name, labels
        self.texts: list[str] = []
        self.soft: list[list[float]] = []
        self.hard: list[list[float]] = []
        self.classes: list[int] = []
        self.skipped = 0

    def add(self, example: Example) -> None:
        if not example.text:
            self.skipped += 1
            return
        self.texts.append(example.text)
        self.soft.append([example.soft.get(label, np.nan) for label in self.labels])
        self.hard.append([example.hard.get(label, np.nan) for label in self.labels])
        self.classes.append(example.davidson_class)

    def build(self, location: str) -> LabeledSet:
        if self.skipped:
            log.warning("%s: skipped %d row(s) without text", location, self.skipped)
        if not self.texts:
            raise DataError(f"{location}: no usable rows")
        n = len(self.texts)
        return LabeledSet(
            texts=self.texts,
            soft=np.asarray(self.soft, dtype=np.float32).reshape(n, len(self.labels)),
            hard=np.asarray(self.hard, dtype=np.float32).reshape(n, len(self.labels)),
            source=np.full(n, self.name, dtype=object),
            davidson_class=np.asarray(self.classes, dtype=np.int8),
        )


def _rows(location: str, columns: tuple[str, ...], hasher: hashlib._Hash) -> Iterator[Row]:
    for line, values in enumerate(_read_rows(location, columns, hasher), start=2):
        yield Row(values, location, line)


@dataclass(frozen=True)
class RowFormat:
    """A one-file dataset: its file name, the columns it must have, and how one row reads (None: skip)."""

    file: str
    columns: tuple[str, ...]
    example: Callable[[Row], Example | None]

    def load(self, cfg: DatasetConfig, labels: tuple[str, ...], hasher: hashlib._Hash) -> LabeledSet:
        location = _locate(cfg.path, self.file)
        out = _Builder(cfg.name, labels)
        for row in _rows(location, self.columns, hasher):
            example = self.example(row)
            if example is not None:
                out.add(example)
        return out.build(location)


def _davidson(row: Row) -> Example:
    count, klass = row.number("count"), int(row.number("class"))
    hate_votes, offensive_votes = row.number("hate_speech"), row.number("offensive_language")
    if count <= 0 or klass not in (0, 1, 2):
        raise row.error("count must be > 0 and class in 0..2")
    return Example(_clean(row["tweet"]), {"toxic": (hate_votes + offensive_votes) / count, "hate": hate_votes / count},
                   {"toxic": float(klass in (0, 1)), "hate": float(klass == 0)}, klass)


def load_civil_toxic_spans(cfg: DatasetConfig, labels: tuple[str, ...], hasher: hashlib._Hash) -> LabeledSet:
    if cfg.path.endswith(".csv"):
        raise DataError(f"{cfg.path}: civil_toxic_spans needs the folder holding comments.csv and annotations.csv")
    votes: dict[str, list[int]] = {}
    for row in _rows(_locate(cfg.path, "annotations.csv"), ("comment_id", "not toxic"), hasher):
        flag = row["not toxic"].strip().lower()
        if flag not in ("true", "false"):
            raise row.error("'not toxic' must be True or False")
        votes.setdefault(row["comment_id"].strip(), []).append(int(flag == "false"))
    location = _locate(cfg.path, "comments.csv")
    out = _Builder(cfg.name, labels)
    for row in _rows(location, ("comment_id", "comment_text"), hasher):
        ballot = votes.get(row["comment_id"].strip())
        if not ballot:
            out.skipped += 1
            continue
        out.add(Example.thresholded(_clean(row["comment_text"]), {"toxic": sum(ballot) / len(ballot)}))
    return out.build(location)


def _stormfront(row: Row) -> Example | None:
    label = row["label"].strip()
    if label in ("relation", "idk/skip"):  # context-dependent or unsure: no reliable label
        return None
    if label not in ("hate", "noHate"):
        raise row.error(f"unknown label {label!r}")
    return Example.of(_clean(row["text"]), {"toxic": float(label == "hate"), "hate": float(label == "hate")})


def _jigsaw(row: Row) -> Example:
    values = {c: row.number(c) for c in JIGSAW_LABELS}
    return Example.of(_clean(row["comment_text"]), {"toxic": float(max(values.values()) >= 0.5),
                                                    "hate": float(values["identity_hate"] >= 0.5)})


def load_generic(cfg: DatasetConfig, labels: tuple[str, ...], hasher: hashlib._Hash) -> LabeledSet:
    location = _locate(cfg.path, "data.csv")
    rows = list(_rows(location, ("text",), hasher))
    present = [label for label in labels if label in rows[0]]
    if not present:
        raise DataError(f"{location}: no label column; expected one of {list(labels)}")
    out = _Builder(cfg.name, labels)
    for row in rows:  # an empty cell: that row's label is unknown (masked), as in the feedback export
        out.add(Example.thresholded(_clean(row["text"]), {label: row.fraction(label) for label in present
                                                          if row[label].strip()}))
    return out.build(location)


def _convabuse(row: Row) -> Example:
    """User turns to chatbots. `hate` is known only where no annotator saw abuse (then 0): its
    identity ticks on abusive turns are few and mostly gendered insults at the bot (the README)."""
    toxic = row.fraction("toxic_fraction")
    return Example.thresholded(_clean(row["user"]), {"toxic": toxic} | ({"hate": 0.0} if toxic == 0 else {}))


def _edos(row: Row) -> Example:
    """Sexist posts attack women as a group: toxic and hate. Not-sexist posts: both unknown."""
    label = row["label_sexist"].strip()
    if label not in ("sexist", "not sexist"):
        raise row.error(f"label_sexist must be 'sexist' or 'not sexist', got {label!r:.40}")
    return Example.of(_clean(row["text"]), {"toxic": 1.0, "hate": 1.0} if label == "sexist" else {})


IMPLICIT_HATE_CLASSES = ("implicit_hate", "explicit_hate", "not_hate")


def _implicit_hate(row: Row) -> Example:
    klass = row["class"].strip()
    if klass not in IMPLICIT_HATE_CLASSES:
        raise row.error(f"class must be one of {IMPLICIT_HATE_CLASSES}")
    value = float(klass != "not_hate")
    return Example.of(_clean_retweet(row["post"]), {"toxic": value, "hate": value})


def _toxigen_prompts(row: Row) -> Example:
    """Hand-written statements. 89 % of the hateful lines but 54 % of the neutral ones end without a
    full stop: the final stop is dropped from every line, or its absence would read as hate."""
    value = {label: row.fraction(label) for label in ("toxic", "hate")}
    if any(v not in (0.0, 1.0) for v in value.values()):
        raise row.error("toxic and hate must be 0 or 1 (the authors' class)")
    return Example.of(_clean(row["text"]).removesuffix("."), value)


def _mlma(row: Row) -> Example:
    """Keyword-sampled tweets with soft labels from the annotators' label set (its README)."""
    return Example.thresholded(_clean(decode_literal_escapes(row["tweet"])),
                               {label: row.fraction(label) for label in ("toxic", "hate")})


LITERAL_ESCAPE = re.compile(r"(?:\\u[0-9a-fA-F]{4})+|\\n")
RETWEET_QUOTES = re.compile(r'(?:\s*"\s*)+')


def decode_literal_escapes(text: str) -> str:
    """`\\u2019` (six characters), surrogate pairs such as `\\ud83d\\ude05`, and `\\n` as real characters;
    a stray backslash (a quote mark upstream) as `"`."""
    def decode(match: re.Match[str]) -> str:
        if match.group() == "\\n":
            return "\n"
        units = bytes.fromhex("".join(u[1:] for u in match.group().split("\\")[1:]))
        return units.decode("utf-16-be", errors="replace")

    # What is left of a backslash was a quote mark upstream (`labelled as \\retarded\\ .`).
    return LITERAL_ESCAPE.sub(decode, text).replace("\\", '"')


def _clean_retweet(text: str) -> str:
    """implicit_hate's tweets keep the quote marks of their retweet markup (`" " "`) in both classes:
    one space instead of each run, so quote noise is no feature."""
    return _clean(RETWEET_QUOTES.sub(" ", text)).strip()


Loader = Callable[[DatasetConfig, tuple[str, ...], "hashlib._Hash"], LabeledSet]
LOADERS: dict[str, Loader] = {
    "davidson": RowFormat("labeled_data.csv", ("count", "hate_speech", "offensive_language", "class", "tweet"),
                          _davidson).load,
    "civil_toxic_spans": load_civil_toxic_spans,
    "stormfront": RowFormat("sentences.csv", ("label", "text"), _stormfront).load,
    "convabuse": RowFormat("convabuse.csv", ("user", "toxic_fraction"), _convabuse).load,
    "edos": RowFormat("edos_labelled_aggregated.csv", ("text", "label_sexist"), _edos).load,
    "implicit_hate": RowFormat("implicit_hate.csv", ("post", "class"), _implicit_hate).load,
    "toxigen_prompts": RowFormat("toxigen_prompts.csv", ("text", "toxic", "hate"), _toxigen_prompts).load,
    "mlma": RowFormat("mlma_en.csv", ("tweet", "toxic", "hate"), _mlma).load,
    "jigsaw": RowFormat("train.csv", ("comment_text", *JIGSAW_LABELS), _jigsaw).load,
    "generic": load_generic,
}


# ---------------------------------------------------------------------------------------- splits


def _stratified_split(data: LabeledSet, cfg: DataConfig, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic per-stratum split; strata are the rows' hard-label combinations."""
    rng = np.random.default_rng(seed)
    strata = [tuple(np.nan_to_num(h, nan=-1).astype(int)) for h in data.hard]
    if (data.davidson_class >= 0).any():
        strata = [(*s, int(c)) for s, c in zip(strata, data.davidson_class, strict=True)]
    train, validation, test = [], [], []
    for stratum in sorted(set(strata)):
        members = np.array([i for i, s in enumerate(strata) if s == stratum])
        members = members[rng.permutation(len(members))]
        n_test = round(len(members) * cfg.test_fraction)
        n_val = round(len(members) * cfg.validation_fraction)
        test.extend(members[:n_test])
        validation.extend(members[n_test : n_test + n_val])
        train.extend(members[n_test + n_val :])
    return (np.sort(np.array(train, dtype=int)), np.sort(np.array(validation, dtype=int)),
            np.sort(np.array(test, dtype=int)))


def _mix(parts: list[LabeledSet], weights: list[float], rows: int, seed: int) -> LabeledSet:
    """Draws `rows` training rows, each set contributing in proportion to its weight."""
    rng = np.random.default_rng(seed)
    total = sum(weights)
    picked = []
    for part, weight in zip(parts, weights, strict=True):
        want = max(1, round(rows * weight / total))
        index = rng.permutation(len(part))[: min(want, len(part))]
        if want > len(part):  # upsample a small set with replacement
            index = np.concatenate([index, rng.integers(0, len(part), want - len(part))])
        picked.append(part.take(index))
    mixed = LabeledSet.concat(picked)
    return mixed.take(rng.permutation(len(mixed)))


def _copies(data: LabeledSet, rows: list[int], texts: list[str]) -> LabeledSet:
    """Rows of `data` with new texts, labels kept; no longer tweets Davidson's annotators read."""
    extra = data.take(np.array(rows, dtype=int))
    extra.texts = texts
    extra.davidson_class[:] = -1
    return extra


def _shuffled(parts: list[LabeledSet], seed: int) -> LabeledSet:
    mixed = LabeledSet.concat(parts)
    return mixed.take(np.random.default_rng(seed).permutation(len(mixed)))


def _with_frames(data: LabeledSet, hate: int, rate: float, seed: int) -> LabeledSet:
    """`data` plus framed copies of some hateful rows (`model_build/frames.py`): rejecting frames
    are labelled 0 for every label, owning frames keep the row's labels."""
    rows = framed_rows(data.texts, data.hard[:, hate] == 1, rate, seed)
    if not rows:
        return data
    extra = _copies(data, [i for i, _, _ in rows], [text for _, text, _ in rows])
    rejects = np.array([r for _, _, r in rows])
    extra.soft[rejects] = 0.0
    extra.hard[rejects] = 0.0
    log.info("frames: %d rejecting, %d owning copies of hateful training rows", rejects.sum(), (~rejects).sum())
    return _shuffled([data, extra], seed)


def _with_swaps(data: LabeledSet, rows: list[tuple[int, str]], what: str, seed: int) -> LabeledSet:
    """`data` plus (source row, text with another group named) copies, labels kept (`model_build/identity.py`)."""
    if not rows:
        return data
    log.info("identity copies: %d %s naming another group", len(rows), what)
    return _shuffled([data, _copies(data, [i for i, _ in rows], [text for _, text in rows])], seed)


def _with_non_protected(data: LabeledSet, rows: list[tuple[int, str]], labels: tuple[str, ...],
                        seed: int) -> LabeledSet:
    """`data` plus copies of hateful rows naming a group without a protected characteristic
    (`model_build/identity.py`): not hateful; toxic unknown (masked), as the insult may not survive the swap."""
    if not rows:
        return data
    extra = _copies(data, [i for i, _ in rows], [text for _, text in rows])
    for label, value in (("hate", 0.0), ("toxic", np.nan)):
        extra.soft[:, labels.index(label)] = value
        extra.hard[:, labels.index(label)] = value
    log.info("identity copies: %d hateful rows naming a group without a protected characteristic", len(rows))
    return _shuffled([data, extra], seed)


def _with_written(data: LabeledSet, rows: list[tuple[int, str, str]], seed: int) -> LabeledSet:
    """`data` plus (source row, text, kind) copies of clean rows with a sentence written beside them
    (`model_build/stance.py`, `claims.py`): the hateful kinds are labelled 1 for every label, the
    others keep their clean source's labels."""
    if not rows:
        return data
    extra = _copies(data, [i for i, _, _ in rows], [text for _, text, _ in rows])
    hateful = HOSTILE_KINDS | HATEFUL_CLAIMS
    hostile = np.array([kind in hateful for _, _, kind in rows])
    extra.soft[hostile] = 1.0
    extra.hard[hostile] = 1.0
    log.info("stance and claims: %s copies of clean training rows", dict(Counter(kind for _, _, kind in rows)))
    return _shuffled([data, extra], seed)


def load_splits(cfg: DataConfig) -> Splits:
    hasher = hashlib.sha256()
    trains, validations, tests = [], [], []
    split_seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    for set_cfg in cfg.sets:
        data = LOADERS[set_cfg.format](set_cfg, cfg.labels, hasher)
        if set_cfg.max_rows and len(data) > set_cfg.max_rows:
            rng = np.random.default_rng(split_seed)
            data = data.take(np.sort(rng.permutation(len(data))[: set_cfg.max_rows]))
        if set_cfg.context and np.nansum(data.hard) > 0:
            raise DataError(f"{set_cfg.name}: a context set must be benign, but some of its rows are labelled 1")
        train, validation, test = _stratified_split(data, cfg, split_seed)
        log.info("%s: %d rows (train %d, validation %d, test %d)", set_cfg.name, len(data), len(train),
                 len(validation), len(test))
        trains.append(data.take(train))
        validations.append(data.take(validation))
        tests.append(data.take(test))
    if cfg.train_rows:
        train_set = _mix(trains, [s.weight for s in cfg.sets], cfg.train_rows, cfg.seed)
    else:
        train_set = _shuffled(trains, cfg.seed)
    # Hateful copies first: frames may wrap them, and the clean copies balance what they add.
    if cfg.identity_hateful_rate and "hate" in cfg.labels:
        rows = hateful_copies(train_set.texts, train_set.hard[:, cfg.labels.index("hate")], cfg.identity_hateful_rate,
                              cfg.seed)
        train_set = _with_swaps(train_set, rows, "hateful rows", cfg.seed)
    if cfg.frame_rate and "hate" in cfg.labels:
        train_set = _with_frames(train_set, cfg.labels.index("hate"), cfg.frame_rate, cfg.seed)
    if cfg.identity_balance and {"hate", "toxic"} <= set(cfg.labels):
        hate, toxic = (train_set.hard[:, cfg.labels.index(label)] for label in ("hate", "toxic"))
        rows = balanced_negatives(train_set.texts, hate, toxic, cfg.identity_balance, cfg.seed)
        train_set = _with_swaps(train_set, rows, "clean rows", cfg.seed)
    if cfg.identity_non_protected_rate and {"hate", "toxic"} <= set(cfg.labels):
        rows = non_protected_copies(train_set.texts, train_set.hard[:, cfg.labels.index("hate")],
                                    cfg.identity_non_protected_rate, cfg.seed + 5)
        train_set = _with_non_protected(train_set, rows, cfg.labels, cfg.seed)
    if (cfg.stance_rate or cfg.claim_rate) and {"hate", "toxic"} <= set(cfg.labels):
        # Both from the same clean rows, so that neither writes beside the other's copies.
        hate, toxic = (train_set.hard[:, cfg.labels.index(label)] for label in ("hate", "toxic"))
        clean = clean_rows(hate, toxic)
        written: list[tuple[int, str, str]] = []
        if cfg.stance_rate:
            written += stance_rows(train_set.texts, clean, cfg.stance_rate, cfg.seed)
        if cfg.claim_rate:  # its own seed: drawn like stance's, the same rows would be chosen
            written += claim_rows(train_set.texts, clean, cfg.claim_rate, cfg.seed + 3)
        train_set = _with_written(train_set, written, cfg.seed)
    if cfg.context_rate:
        # Drawn from the context sets' whole training splits: their weight sizes their own rows, not this pool.
        contexts = [text for s, part in zip(cfg.sets, trains, strict=True) if s.context for text in part.texts]
        in_context = np.isin(train_set.source, cfg.context_sets)
        texts = add_context(train_set.texts, ~in_context, contexts, cfg.context_rate, cfg.seed)
        log.info("context: %d training rows with a benign sentence beside them",
                 sum(a != b for a, b in zip(texts, train_set.texts, strict=True)))
        train_set.texts = texts
    if cfg.noise_rate:
        train_set.texts = add_noise(train_set.texts, cfg.noise_rate, cfg.seed)
    return Splits(train_set, LabeledSet.concat(validations), LabeledSet.concat(tests), hasher.hexdigest())


# ---------------------------------------------------------------------------------------- audit

_MARKUP = re.compile(r"@user|\[user\]|\[url\]|https?://|#\w", re.IGNORECASE)


def _formatting_features(text: str) -> list[float]:
    letters = [c for c in text if c.isalpha()] or [" "]
    stripped = text.strip()
    return [
        sum(c.isupper() for c in letters) / len(letters),  # casing
        float(stripped[:1].isupper()),
        float(any(c.isupper() for c in letters)),
        float(stripped[-1:] in ".!?"),  # formatting
        len(re.findall(r"\s[.,!?;:]", text)) / (1 + len(text) / 80),
        text.count('"') + text.count("'"),
        float(bool(_MARKUP.search(text))),
        float(any(ord(c) > 127 for c in text)),
    ]


def formatting_shortcuts(data: LabeledSet, label_index: int = 0, folds: int = 3) -> dict[str, dict[str, float]]:
    """Per set, the cross-validated ROC-AUC of a logistic regression that sees only casing (first
    three features) or casing and formatting (all): near 0.5 means the class is not written differently.
    Sets with a single known class are left out."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    out: dict[str, dict[str, float]] = {}
    for name in sorted(set(data.source)):
        rows = np.flatnonzero((data.source == name) & ~np.isnan(data.hard[:, label_index]))
        y = data.hard[rows, label_index].astype(int)
        if len(rows) < 30 or y.min() == y.max():
            continue
        x = np.array([_formatting_features(data.texts[i]) for i in rows])
        aucs = {}
        for kind, columns in (("casing", slice(0, 3)), ("formatting", slice(None))):
            p = cross_val_predict(LogisticRegression(max_iter=1000), x[:, columns], y, cv=folds,
                                  method="predict_proba")[:, 1]
            aucs[kind] = float(roc_auc_score(y, p))
        out[name] = aucs
    return out
