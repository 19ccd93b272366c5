"""Text normalization against obfuscated spelling, built into the tokenizer itself.

The rules run as the first steps of the tokenizer's own normalizer, so they travel inside
`tokenizer.json`: the teacher, the student, the evaluation and the inference server (which only loads
that file) all see exactly the same text. One code path, nothing to keep in sync.

- NFKC folds styled and full-width letters (𝓱𝓪𝓽𝓮, ｈａｔｅ) onto plain ones.
- Zero-width and soft-hyphen characters, used to split a word invisibly, are removed.
- Leetspeak inside a word (`h4te`, `sh1t`, `1d10ts`, `b!tch`, `f@g`) maps to letters. A symbol is
  mapped only between letters (through at most a few other such symbols), or at a word's start
  before three letters: numbers, times, versions and ids (`2010`, `10am`, `i18n`, `k8s`, `ipv4`,
  `x509`, `@user`) stay as they are.
- Letters spelt out one by one (`h a t e`, `s-c-u-m`, `h.a.t.e`, `k*i*l*l`) are joined: a run of three
  or more single letters with the same separator between them. A word-piece model cannot read a run
  of one-letter tokens (the full student scored `I h a t e women.` 0.01). A capital `I` before a
  lower-case run stays a word (`I h a t e` -> `I hate`); two letters (`e.g.`, `Plan A B`), initials
  (`J. R. R.`) and anything with a digit (`1 2 3`) stay as they are. The article is not told apart
  (`a c u n t` -> `acunt`): the training noise goes through the same rules, so the model reads what
  they leave.
- A letter repeated three or more times keeps two (`stuuupid` -> `stuupid`, `goood` -> `good`).

Dropped and swapped letters are not normalized: no rule tells them apart from real text safely, so
the training noise (`model_build/noise.py`) teaches the model to read them.
"""

from __future__ import annotations

import json
import re

from tokenizers import Regex, normalizers
from transformers import AutoTokenizer, PreTrainedTokenizerBase

LEETSPEAK = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
# Symbols that also start a word in leetspeak (`$hit`, `1diots`); `@` and `!` do not (`@user`, `!important`).
WORD_INITIAL = "013457$"
INVISIBLE = "[\u200b-\u200f\u2060\ufeff\u00ad]"
SPELLING_SEPARATORS = " .-*_"


def _escape(symbol: str) -> str:
    return "\\" + symbol if symbol in "$!@" else symbol


def spelt_out_rule(separator: str) -> normalizers.Normalizer:
    """Removes `separator` between single letters in a run of three or more (`h a t e` -> `hate`)."""
    sep = re.escape(separator)
    letter, word_char = "\\p{L}", "[\\p{L}\\p{N}]"
    before = f"(?<={letter})(?<!{word_char}{letter})"  # a letter that does not end a longer word
    after = f"(?={letter}(?!{word_char}))"  # a letter that does not start one
    third = (f"(?:(?={letter}{sep}{letter}(?!{word_char}))"  # a third single letter after, or before
             f"|(?<={letter}{sep}{letter}{sep})(?<!{word_char}{letter}{sep}{letter}{sep}))")
    pronoun = f"(?!(?<=\\bI){sep}\\p{{Ll}})" if separator == " " else ""  # `I h a t e`: the pronoun stays
    return normalizers.Replace(Regex(f"{pronoun}{before}{sep}{after}{third}"), "")


def obfuscation_rules() -> list[normalizers.Normalizer]:
    leet = "[" + "".join(_escape(s) for s in LEETSPEAK) + "]"
    # A letter before (at most two symbols away) and a letter after (at most three away): inside a word.
    inside = f"(?<=\\p{{L}}|\\p{{L}}{leet}|\\p{{L}}{leet}{leet})"
    rules: list[normalizers.Normalizer] = [normalizers.NFKC(), normalizers.Replace(Regex(INVISIBLE), "")]
    for symbol, letter in LEETSPEAK.items():
        rules.append(normalizers.Replace(Regex(f"{inside}{_escape(symbol)}(?={leet}{{0,3}}\\p{{L}})"), letter))
    for symbol in WORD_INITIAL:
        rules.append(normalizers.Replace(Regex(f"(?<![\\p{{L}}\\p{{N}}]){_escape(symbol)}(?=\\p{{L}}{{3,}})"),
                                         LEETSPEAK[symbol]))
    rules += [spelt_out_rule(separator) for separator in SPELLING_SEPARATORS]
    rules.append(normalizers.Replace(Regex("(?<=(\\p{L}))\\1(?=\\1)"), ""))  # the middle of each run of 3+
    return rules


def _rule_json(rule: normalizers.Normalizer) -> dict:
    """A rule's serialized form (tokenizers has no equality on normalizers)."""
    return json.loads(normalizers.Sequence([rule]).__getstate__())["normalizers"][0]


def install(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Puts the obfuscation rules in front of the tokenizer's own normalizer (once: idempotent)."""
    backend = tokenizer.backend_tokenizer
    current = json.loads(backend.to_str()).get("normalizer")
    ours = obfuscation_rules()
    if current and current.get("type") == "Sequence" \
            and current["normalizers"][: len(ours)] == [_rule_json(rule) for rule in ours]:
        return tokenizer
    existing = [] if backend.normalizer is None else [backend.normalizer]
    backend.normalizer = normalizers.Sequence(ours + existing)
    return tokenizer


def load_tokenizer(path: str) -> PreTrainedTokenizerBase:
    """The tokenizer of a teacher or student folder, with Decorum's normalization installed."""
    return install(AutoTokenizer.from_pretrained(path))


def rules_fingerprint() -> str:
    """Changes whenever the rules change: part of the teacher cache key."""
    return json.dumps([_rule_json(rule) for rule in obfuscation_rules()], sort_keys=True)
