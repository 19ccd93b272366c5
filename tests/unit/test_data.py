import hashlib
from pathlib import Path

import numpy as np
import pytest

from model_build.config import DataConfig, DatasetConfig
from model_build.data import LOADERS, DataError, load_splits
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


def test_weighted_mix_draws_in_proportion() -> None:
    sets = (DatasetConfig("davidson", "davidson", str(DATA / "davidson"), weight=3.0),
            DatasetConfig("stormfront", "stormfront", str(DATA / "stormfront"), weight=1.0))
    splits = load_splits(DataConfig(sets, train_rows=4000))
    counts = {s: int((splits.train.source == s).sum()) for s in ("davidson", "stormfront")}
    assert counts == {"davidson": 3000, "stormfront": 1000}
