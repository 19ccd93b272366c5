import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from model_build.config import DataConfig, DatasetConfig
from model_build.data import (
    LOADERS,
    DataError,
    LabeledSet,
    decode_literal_escapes,
    formatting_shortcuts,
    load_splits,
)
from tests.conftest import DATA

LABELS = ("toxic", "hate")


def load(fmt: str, path: Path | str):
    return LOADERS[fmt](DatasetConfig("s", fmt, str(path)), LABELS, hashlib.sha256())


def test_davidson_mapping_soft_labels_and_entities(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text(',count,hate_speech,offensive_language,neither,class,tweet\n'
                   '0,3,2,1,0,0,"you &amp; your ""kind""\nsecond line"\n'
                   '1,4,0,1,3,2,fine\n')
    data = load("davidson", csv)
    assert data.texts[0] == 'you & your "kind"\nsecond line'
    np.testing.assert_allclose(data.soft, [[1.0, 2 / 3], [0.25, 0.0]], rtol=1e-6)
    np.testing.assert_array_equal(data.hard, [[1, 1], [0, 0]])
    assert list(data.davidson_class) == [0, 2]


def test_civil_labels_come_from_annotator_votes_and_hate_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "comments.csv").write_text("comment_id,comment_text\n1,a\n2,b\n3,c\n")
    (tmp_path / "annotations.csv").write_text(
        "annotation,comment_id,worker,country,all toxic,not toxic\n"
        "0,1,a,US,False,False\n1,1,b,US,False,False\n2,1,c,US,False,True\n"
        "3,2,a,US,False,True\n4,2,b,US,False,False\n"  # a tie counts as toxic (the README's 11,304)
        "5,3,a,US,False,True\n")
    data = load("civil_toxic_spans", tmp_path)
    np.testing.assert_allclose(data.soft[:, 0], [2 / 3, 0.5, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(data.hard[:, 0], [1, 1, 0])
    assert np.isnan(data.hard[:, 1]).all()


def test_stormfront_drops_relation_and_skip(tmp_path: Path) -> None:
    csv = tmp_path / "sentences.csv"
    csv.write_text("file_id,user_id,subforum_id,num_contexts,label,text\n"
                   "1,1,1,0,hate,x\n2,1,1,0,noHate,y\n3,1,1,0,relation,z\n4,1,1,0,idk/skip,w\n")
    data = load("stormfront", tmp_path)
    assert data.texts == ["x", "y"]
    np.testing.assert_array_equal(data.hard, [[1, 1], [0, 0]])


def test_jigsaw_and_generic_layouts(tmp_path: Path) -> None:
    jig = tmp_path / "train.csv"
    jig.write_text("id,comment_text,toxic,severe_toxic,obscene,threat,insult,identity_hate\n"
                   "a,hi,0,0,0,0,0,0\nb,ugh,0,0,1,0,0,0\nc,grr,1,0,0,0,0,1\n")
    np.testing.assert_array_equal(load("jigsaw", jig).hard, [[0, 0], [1, 0], [1, 1]])
    gen = tmp_path / "g.csv"
    gen.write_text("text,toxic\nhello,0\nidiot,0.8\n")
    data = load("generic", gen)
    np.testing.assert_allclose(data.soft[:, 0], [0, 0.8], rtol=1e-6)
    assert np.isnan(data.soft[:, 1]).all()


def test_clear_errors_for_empty_files_wrong_columns_and_bad_rows(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty.csv: file is empty"):
        load("davidson", empty)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['count'"):
        load("davidson", wrong)
    bad = tmp_path / "bad.csv"
    bad.write_text(",count,hate_speech,offensive_language,neither,class,tweet\n0,3,x,0,3,2,hi\n")
    with pytest.raises(DataError, match="bad.csv, row 2: column 'hate_speech' is not a number"):
        load("davidson", bad)
    header_only = tmp_path / "h.csv"
    header_only.write_text("text,toxic\n")
    with pytest.raises(DataError, match="no data rows"):
        load("generic", header_only)
    with pytest.raises(DataError, match="cannot read"):
        load("generic", tmp_path / "missing.csv")


def test_rows_without_text_are_skipped_not_fatal(tmp_path: Path) -> None:
    gen = tmp_path / "g.csv"
    gen.write_text("text,toxic\n,1\n  ,0\nok,1\n")
    assert load("generic", gen).texts == ["ok"]


def test_s3_uri_is_read_through_boto3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_url)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="decorum-data")
    s3.put_object(Bucket="decorum-data", Key="sets/g.csv", Body=b"text,toxic\nhello,0\nidiot,1\n")
    assert load("generic", "s3://decorum-data/sets/g.csv").texts == ["hello", "idiot"]


def test_shared_sets_split_deterministically_and_stratified() -> None:
    sets = (DatasetConfig("davidson", "davidson", str(DATA / "davidson")),
            DatasetConfig("stormfront", "stormfront", str(DATA / "stormfront")))
    a, b = load_splits(DataConfig(sets, seed=3)), load_splits(DataConfig(sets, seed=3))
    assert a.train.texts == b.train.texts and a.test.texts == b.test.texts
    assert len(set(a.test.texts) & set(a.train.texts)) < 0.01 * len(a.test)  # only duplicate tweets
    for name in ("davidson", "stormfront"):
        train_rate = np.nanmean(a.train.hard[a.train.source == name, 1])
        test_rate = np.nanmean(a.test.hard[a.test.source == name, 1])
        assert abs(train_rate - test_rate) < 0.01
    c = load_splits(DataConfig(sets, seed=4))
    assert c.test.texts != a.test.texts
    # Another training seed on the same held-out rows: only the training mix and its order change.
    d = load_splits(DataConfig(sets, seed=4, split_seed=3))
    assert d.test.texts == a.test.texts and d.validation.texts == a.validation.texts
    assert sorted(d.train.texts) == sorted(a.train.texts) and d.train.texts != a.train.texts


def test_weighted_mix_draws_in_proportion() -> None:
    sets = (DatasetConfig("davidson", "davidson", str(DATA / "davidson"), weight=3.0),
            DatasetConfig("stormfront", "stormfront", str(DATA / "stormfront"), weight=1.0))
    splits = load_splits(DataConfig(sets, train_rows=4000))
    counts = {s: int((splits.train.source == s).sum()) for s in ("davidson", "stormfront")}
    assert counts == {"davidson": 3000, "stormfront": 1000}


# ------------------------------------------------------------------------- the five newer sets


def rows_of(data, text: str) -> tuple[list[float], list[float]]:
    i = data.texts.index(text)
    return list(data.soft[i]), list(data.hard[i])


def nan_to_none(values: list[float]) -> list[float | None]:
    return [None if np.isnan(v) else round(float(v), 4) for v in values]


def test_convabuse_hate_is_zero_only_where_no_annotator_saw_abuse() -> None:
    data = load("convabuse", DATA / "convabuse")
    assert len(data) == 4185
    fractions = data.soft[:, 0]
    assert ((fractions >= 0) & (fractions <= 1)).all()
    abusive = fractions > 0
    assert np.isnan(data.hard[abusive, 1]).all()  # an abusive turn's identity ticks are too weak: masked
    assert (data.hard[~abusive, 1] == 0).all()
    np.testing.assert_array_equal(data.hard[:, 0], (fractions >= 0.5).astype(np.float32))


def test_edos_not_sexist_rows_stay_masked_never_zero() -> None:
    data = load("edos", DATA / "edos")
    assert len(data) == 20_000
    sexist = ~np.isnan(data.hard[:, 0])
    assert sexist.sum() == 4854
    assert (data.soft[sexist] == 1).all() and (data.hard[sexist] == 1).all()
    assert np.isnan(data.soft[~sexist]).all() and np.isnan(data.hard[~sexist]).all()
    assert "[USER]" in " ".join(data.texts[:200]) or "[URL]" in " ".join(data.texts[:200])


def test_implicit_hate_maps_both_hate_classes_and_drops_retweet_quote_noise() -> None:
    data = load("implicit_hate", DATA / "implicit_hate")
    assert len(data) == 21_480 and int(data.hard[:, 1].sum()) == 8189
    np.testing.assert_array_equal(data.hard[:, 0], data.hard[:, 1])
    text = ": jewish harvard professor noel ignatiev wants to abolish the white race via #wr"
    assert nan_to_none(rows_of(data, text)[1]) == [1.0, 1.0]
    assert not any(t.startswith('"') or '" "' in t for t in data.texts)


def test_toxigen_prompts_classes_and_no_full_stop_shortcut() -> None:
    data = load("toxigen_prompts", DATA / "toxigen_prompts")
    assert len(data) == 769 and int(data.hard[:, 1].sum()) == 424
    assert nan_to_none(rows_of(data, "asian men all have small peckers")[1]) == [1.0, 1.0]
    assert not any(t.endswith(".") for t in data.texts)  # its hateful lines rarely had one


def test_mlma_soft_labels_and_literal_escapes_decoded() -> None:
    data = load("mlma", DATA / "mlma")
    assert len(data) == 5647
    assert not any("\\u" in t for t in data.texts)
    soft, hard = rows_of(data, "This bitch Is retarded 😂😂😂😂 I hate her @URL")
    assert soft == [1.0, 0.0] and hard == [1.0, 0.0]
    assert set(np.unique(data.soft[:, 0])) <= {0.0, 0.5, 1.0}


@pytest.mark.parametrize(("raw", "decoded"), [
    (r"it\u2019s", "it’s"),
    (r"lol \ud83d\ude05 ok", "lol 😅 ok"),
    (r"line\nbreak", "line\nbreak"),
    (r"labelled as \retarded\ .", 'labelled as "retarded" .'),
    ("plain", "plain"),
])
def test_literal_escapes(raw: str, decoded: str) -> None:
    assert decode_literal_escapes(raw) == decoded


@pytest.mark.parametrize(("fmt", "body", "message"), [
    ("edos", "text,label_sexist\nhi,maybe\n", "row 2: label_sexist must be"),
    ("implicit_hate", "post,class\nhi,hateful\n", "row 2: class must be one of"),
    ("convabuse", "user,toxic_fraction\nhi,1.5\n", r"row 2: toxic_fraction must be in \[0, 1\], got 1.5"),
    ("toxigen_prompts", "text,toxic,hate\nhi,0.5,0\n", "row 2: toxic and hate must be 0 or 1"),
    ("mlma", "tweet,toxic,hate\nhi,x,0\n", "row 2: column 'toxic' is not a number"),
])
def test_new_loaders_name_the_bad_row(tmp_path: Path, fmt: str, body: str, message: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(body)
    with pytest.raises(DataError, match=f"bad.csv, {message}"):
        load(fmt, bad)


def test_gzipped_csv_reads_like_plain_and_hashes_the_same(tmp_path: Path) -> None:
    body = b"text,toxic\nhello,0\nidiot,1\n"
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "data.csv").write_bytes(body)
    (tmp_path / "zipped").mkdir()
    (tmp_path / "zipped" / "data.csv.gz").write_bytes(gzip.compress(body))
    hashes = [hashlib.sha256(), hashlib.sha256()]
    plain = LOADERS["generic"](DatasetConfig("s", "generic", str(tmp_path / "plain")), LABELS, hashes[0])
    zipped = LOADERS["generic"](DatasetConfig("s", "generic", str(tmp_path / "zipped")), LABELS, hashes[1])
    assert plain.texts == zipped.texts and hashes[0].hexdigest() == hashes[1].hexdigest()
    (tmp_path / "broken.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="not a readable gzip file"):
        load("generic", tmp_path / "broken.csv.gz")


def test_training_noise_touches_only_training_rows_and_keeps_labels() -> None:
    sets = (DatasetConfig("toxigen_prompts", "toxigen_prompts", str(DATA / "toxigen_prompts")),)
    clean, noisy = load_splits(DataConfig(sets)), load_splits(DataConfig(sets, noise_rate=0.5))
    assert noisy.validation.texts == clean.validation.texts and noisy.test.texts == clean.test.texts
    changed = [a != b for a, b in zip(clean.train.texts, noisy.train.texts, strict=True)]
    assert 0.35 < np.mean(changed) < 0.65
    np.testing.assert_array_equal(noisy.train.hard, clean.train.hard)


def test_formatting_audit_flags_a_class_written_differently() -> None:
    rng = np.random.default_rng(0)
    shouting = [("HATE THEM ALL" if y else "have a nice day", y) for y in rng.integers(0, 2, 200)]
    data = LabeledSet(texts=[t for t, _ in shouting], soft=np.array([[y, y] for _, y in shouting], np.float32),
                      hard=np.array([[y, y] for _, y in shouting], np.float32),
                      source=np.full(200, "shouty", dtype=object), davidson_class=np.full(200, -1, np.int8))
    assert formatting_shortcuts(data)["shouty"]["casing"] > 0.95
    real = load_splits(DataConfig((DatasetConfig("toxigen_prompts", "toxigen_prompts",
                                                 str(DATA / "toxigen_prompts")),)))
    assert formatting_shortcuts(real.train)["toxigen_prompts"]["formatting"] < 0.65
