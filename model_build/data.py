"""Labeled data: loaders per dataset layout, label mapping, deterministic splits and the training mix.

Every loader maps its dataset's own labels onto Decorum's labels (default `toxic`, `hate`):

| set                | toxic (offensive, insulting or hateful)      | hate (attacks a group)          |
|--------------------|----------------------------------------------|---------------------------------|
| davidson           | hate or offensive; soft: (hate+offensive)/n  | hate; soft: hate votes / n      |
| civil_toxic_spans  | at least half did not tick `not toxic`       | unknown (masked)                |
| stormfront         | `hate` (noHate: 0; relation, idk/skip dropped)| `hate`                         |
| jigsaw             | any of its 6 labels                          | identity_hate                   |
| generic            | a `toxic` column (0/1 or a fraction)         | a `hate` column; absent: masked |

A label a set does not annotate is NaN: the hard-label loss and the metrics skip it, while the
teacher's soft targets still teach it to the student.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_build.config import DataConfig, DatasetConfig

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
    """A dataset path is its CSV or the folder (local or S3 prefix) that holds `default_file`."""
    if path.endswith(".csv"):
        return path
    return path.rstrip("/") + "/" + default_file


def _read_rows(location: str, required: tuple[str, ...], hasher: hashlib._Hash) -> list[dict[str, str]]:
    raw = _read_bytes(location)
    hasher.update(raw)
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


def _number(row: dict[str, str], column: str, location: str, line: int) -> float:
    try:
        value = float(row[column])
    except (TypeError, ValueError):
        raise DataError(f"{location}, row {line}: column {column!r} is not a number: {row[column]!r:.40}") from None
    if not np.isfinite(value):
        raise DataError(f"{location}, row {line}: column {column!r} is not finite")
    return value


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

    def add(self, text: str, soft: dict[str, float], hard: dict[str, float], davidson_class: int = -1) -> None:
        if not text:
            self.skipped += 1
            return
        self.texts.append(text)
        self.soft.append([soft.get(label, np.nan) for label in self.labels])
        self.hard.append([hard.get(label, np.nan) for label in self.labels])
        self.classes.append(davidson_class)

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


def load_davidson(cfg: DatasetConfig, labels: tuple[str, ...], hasher: hashlib._Hash) -> LabeledSet:
    location = _locate(cfg.path, "labeled_data.csv")
    cols = ("count", "hate_speech", "offensive_language", "class", "tweet")
    out = _Builder(cfg.name, labels)
    for line, row in enumerate(_read_rows(location, cols, hasher), start=2):
        count = _number(row, "count", location, line)
        hate_votes = _number(row, "hate_speech", location, line)
        offensive_votes = _number(row, "offensive_language", location, line)
        klass = int(_number(row, "class", location, line))
        if count <= 0 or klass not in (0, 1, 2):
            raise DataError(f"{location}, row {line}: count must be > 0 and class in 0..2")
        soft = {"toxic": (hate_votes + offensive_votes) / count, "hate": hate_votes / count}
        hard = {"toxic": float(klass in (0, 1)), "hate": float(klass == 0)}
        out.add(_clean(row["tweet"]), soft, hard, klass)
    return out.build(location)


def load_civil_toxic_spans(cfg: DatasetConfig, labels: tuple[str, ...], hasher: hashlib._Hash) -> LabeledSet:
    if cfg.path.endswith(".csv"):
        raise DataError(f"{cfg.path}: civil_toxic_spans needs the folder holding comments.csv and annotations.csv")
    votes: dict[str, list[int]] = {}
    ann_location = _locate(cfg.path, "annotations.csv")
    for line, row in enumerate(_read_rows(ann_location, ("comment_id", "not toxic"), hasher), start=2):
        flag = row["not toxic"].strip().lower()
        if flag not in ("true", "false"):
            raise DataError(f"{ann_location}, row {line}: 'not toxic' must be True or False")
        votes.setdefault(row["comment_id"].strip(), []).append(int(flag == "false"))
    location = _locate(cfg.path, "comments.csv")
    out = _Builder(cfg.name, labels)
    for row in _read_rows(location, ("comment_id", "comment_text"), hasher):
        ballot = votes.get(row["comment_id"].strip())
        if not ballot:
            out.skipped += 1
            continue
        toxic_fraction = sum(ballot) / len(ballot)
        out.add(_clean(row["comment_text"]), {"toxic": toxic_fraction}, {"toxic": float(toxic_fraction >= 0.5)})
    return out.build(location)


def load_stormfront(cfg: DatasetConfig, labels: tuple[str, ...], hasher: hashlib._Hash) -> LabeledSet:
    location = _locate(cfg.path, "sentences.csv")
    out = _Builder(cfg.name, labels)
    for line, row in enumerate(_read_rows(location, ("label", "text"), hasher), start=2):
        label = row["label"].strip()
        if label in ("relation", "idk/skip"):  # context-dependent or unsure: no reliable label
            continue
        if label not in ("hate", "noHate"):
            raise DataError(f"{location}, row {line}: unknown label {label!r}")
        value = {"toxic": float(label == "hate"), "hate": float(label == "hate")}
        out.add(_clean(row["text"]), value, value)
    return out.build(location)


def load_jigsaw(cfg: DatasetConfig, labels: tuple[str, ...], hasher: hashlib._Hash) -> LabeledSet:
    location = _locate(cfg.path, "train.csv")
    out = _Builder(cfg.name, labels)
    for line, row in enumerate(_read_rows(location, ("comment_text", *JIGSAW_LABELS), hasher), start=2):
        values = {c: _number(row, c, location, line) for c in JIGSAW_LABELS}
        value = {"toxic": float(max(values.values()) >= 0.5), "hate": float(values["identity_hate"] >= 0.5)}
        out.add(_clean(row["comment_text"]), value, value)
    return out.build(location)


def load_generic(cfg: DatasetConfig, labels: tuple[str, ...], hasher: hashlib._Hash) -> LabeledSet:
    location = _locate(cfg.path, "data.csv")
    rows = _read_rows(location, ("text",), hasher)
    present = [label for label in labels if label in rows[0]]
    if not present:
        raise DataError(f"{location}: no label column; expected one of {list(labels)}")
    out = _Builder(cfg.name, labels)
    for line, row in enumerate(rows, start=2):
        soft = {}
        for label in present:
            value = _number(row, label, location, line)
            if not 0 <= value <= 1:
                raise DataError(f"{location}, row {line}: {label} must be in [0, 1], got {value}")
            soft[label] = value
        out.add(_clean(row["text"]), soft, {k: float(v >= 0.5) for k, v in soft.items()})
    return out.build(location)


LOADERS = {
    "davidson": load_davidson,
    "civil_toxic_spans": load_civil_toxic_spans,
    "stormfront": load_stormfront,
    "jigsaw": load_jigsaw,
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


def load_splits(cfg: DataConfig) -> Splits:
    hasher = hashlib.sha256()
    trains, validations, tests = [], [], []
    for set_cfg in cfg.sets:
        data = LOADERS[set_cfg.format](set_cfg, cfg.labels, hasher)
        if set_cfg.max_rows and len(data) > set_cfg.max_rows:
            rng = np.random.default_rng(cfg.seed)
            data = data.take(np.sort(rng.permutation(len(data))[: set_cfg.max_rows]))
        train, validation, test = _stratified_split(data, cfg, cfg.seed)
        log.info("%s: %d rows (train %d, validation %d, test %d)", set_cfg.name, len(data), len(train),
                 len(validation), len(test))
        trains.append(data.take(train))
        validations.append(data.take(validation))
        tests.append(data.take(test))
    if cfg.train_rows:
        train_set = _mix(trains, [s.weight for s in cfg.sets], cfg.train_rows, cfg.seed)
    else:
        train_set = LabeledSet.concat(trains)
        train_set = train_set.take(np.random.default_rng(cfg.seed).permutation(len(train_set)))
    return Splits(train_set, LabeledSet.concat(validations), LabeledSet.concat(tests), hasher.hexdigest())
