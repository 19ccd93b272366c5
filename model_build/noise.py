"""Character noise for training rows: the obfuscations people use to slip past a filter.

A noised row keeps its labels: `h a t e`, `hte`, `haet`, `haate`, `h4te` and `h*te` mean what `hate`
means. What the tokenizer's normalizer already undoes (leetspeak inside words, long letter runs,
letters spelt out one by one: `model_build/normalize.py`) is still generated here, so the model also
sees the forms the rules leave (`1diots` at a word's start without three letters after it, `h 4 t e`).
Validation and test rows are never noised: the functional suite's obfuscated cases measure what this
buys.
"""

from __future__ import annotations

import re

import numpy as np

from model_build.normalize import SPELLING_SEPARATORS

WORD = re.compile(r"[^\W\d_]{3,}")  # a run of three or more letters
LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7"}
VOWELS = "aeiou"


def _space(word: str, rng: np.random.Generator) -> str:
    separator = SPELLING_SEPARATORS[int(rng.integers(len(SPELLING_SEPARATORS)))]
    return separator.join(word) if rng.random() < 0.8 else " ".join(word)


def _drop(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word)))
    return word[:i] + word[i + 1 :]


def _swap(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))
    if word[i] == word[i + 1]:  # swapping equal letters changes nothing
        return _drop(word, rng)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _double(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(len(word)))
    return word[:i] + word[i] * int(rng.integers(2, 5)) + word[i + 1 :]


def _leet(word: str, rng: np.random.Generator) -> str:
    candidates = [i for i, c in enumerate(word) if c.lower() in LEET]
    if not candidates:
        return _double(word, rng)
    chosen = {i for i in candidates if rng.random() < 0.6} or {candidates[int(rng.integers(len(candidates)))]}
    return "".join(str(rng.choice(list(LEET[c.lower()]))) if i in chosen else c for i, c in enumerate(word))


def _mask_vowel(word: str, rng: np.random.Generator) -> str:
    vowels = [i for i, c in enumerate(word) if c.lower() in VOWELS]
    if not vowels:
        return _drop(word, rng)
    i = vowels[int(rng.integers(len(vowels)))]
    return word[:i] + "*" + word[i + 1 :]


OPERATIONS = (_space, _drop, _swap, _double, _leet, _mask_vowel)


def obfuscate(text: str, rng: np.random.Generator, word_rate: float = 0.25) -> str:
    """`text` with some of its words (each with `word_rate`, at least one) obfuscated by one operation."""
    words = list(WORD.finditer(text))
    if not words:
        return text
    chosen = {i for i in range(len(words)) if rng.random() < word_rate} or {int(rng.integers(len(words)))}
    pieces, last = [], 0
    for i, match in enumerate(words):
        if i in chosen:
            operation = OPERATIONS[int(rng.integers(len(OPERATIONS)))]
            pieces += [text[last : match.start()], operation(match.group(), rng)]
            last = match.end()
    return "".join(pieces) + text[last:]


def add_noise(texts: list[str], rate: float, seed: int) -> list[str]:
    """`texts` with a `rate` share of them obfuscated (the rest unchanged); deterministic for a seed."""
    rng = np.random.default_rng(seed)
    picked = rng.random(len(texts)) < rate
    return [obfuscate(t, rng) if p else t for t, p in zip(texts, picked, strict=True)]
