import re

import numpy as np

from model_build.noise import OPERATIONS, add_noise, obfuscate

TEXTS = ["I hate all of them, they are vermin", "you are an idiot", "ok", "123 456", "the tests are killing me"]


def test_deterministic_for_a_seed() -> None:
    assert add_noise(TEXTS * 20, 0.5, seed=3) == add_noise(TEXTS * 20, 0.5, seed=3)
    assert add_noise(TEXTS * 20, 0.5, seed=3) != add_noise(TEXTS * 20, 0.5, seed=4)


def test_rate_zero_and_texts_without_words_are_untouched() -> None:
    assert add_noise(TEXTS, 0.0, seed=1) == TEXTS
    rng = np.random.default_rng(0)
    assert obfuscate("ok", rng) == "ok" and obfuscate("123 456 !!", rng) == "123 456 !!"


def test_every_operation_changes_every_word_a_little() -> None:
    rng = np.random.default_rng(1)
    for operation in OPERATIONS:
        for word in ("hate", "vermin", "idiots", "goood", "xyz"):
            for _ in range(20):
                out = operation(word, rng)
                assert out != word, (operation.__name__, word)
                assert len(word) - 1 <= len(re.sub(r"[ ._*-]", "", out)) <= len(word) + 3
    noisy = obfuscate("alpha beta gamma", np.random.default_rng(2), word_rate=0.0)  # at least one word
    assert noisy != "alpha beta gamma" and noisy.count(" ") >= 2


def test_a_noised_share_close_to_the_rate() -> None:
    texts = ["some ordinary words here"] * 2000
    changed = np.mean([a != b for a, b in zip(texts, add_noise(texts, 0.2, seed=0), strict=True)])
    assert 0.17 < changed < 0.23
