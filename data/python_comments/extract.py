"""Rebuild data.csv.gz: prose sentences from the comments and docstrings of CPython's
standard library, benign developer-written text (toxic 0, hate 0) that none of the other sets has.

    python3 data/python_comments/extract.py /usr/lib/python3.11 data/python_comments/data.csv

then `gzip -9 -n` the CSV. Deterministic for a given source tree (files and sentences sorted).
Sentences with profanity or insults are left out, so that 0 is the right label for every row; the
technical senses of violent or group words ("kill the child process", "whitespace", "master") stay,
they are what the set is for.
"""

from __future__ import annotations

import ast
import csv
import re
import sys
import tokenize
from pathlib import Path

MIN_WORDS, MAX_WORDS = 4, 40
# Mild profanity and insults, aimed at code or people: not clearly non-toxic, so not in a set of zeros.
UNCLEAN = re.compile(r"\b(?:bastards?|stupid|idiot\w*|dumb|moron\w*|crap\w*|damn\w*|hell|suck\w*|shit\w*|"
                     r"fuck\w*|ass|asses|bloody|ugly|insane|lame|retard\w*|silly|brain.?dead)\b", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
CODE = re.compile(r"[(){}\[\]=<>|\\`$#%*_/]|::|->|\.\w+\(|\w\.\w")
WORD = re.compile(r"[A-Za-z']+")


def comment_blocks(path: Path) -> list[str]:
    """Consecutive `#` comment lines joined into one block of text."""
    blocks, current, last_line = [], [], -2
    with path.open("rb") as source:
        for token in tokenize.tokenize(source.readline):
            if token.type != tokenize.COMMENT:
                continue
            text = token.string.lstrip("#").strip()
            if token.start[0] != last_line + 1 and current:
                blocks.append(" ".join(current))
                current = []
            if text:
                current.append(text)
            last_line = token.start[0]
    if current:
        blocks.append(" ".join(current))
    return blocks


def docstring_paragraphs(path: Path) -> list[str]:
    tree = ast.parse(path.read_bytes())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node)
            if doc:
                out.extend(" ".join(p.split()) for p in re.split(r"\n\s*\n", doc))
    return out


def is_prose(sentence: str) -> bool:
    words = sentence.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS or UNCLEAN.search(sentence):
        return False
    plain = WORD.findall(sentence)
    return (len(plain) >= 0.8 * len(words) and len(CODE.findall(sentence)) <= 1
            and sentence[:1].isalpha() and not sentence.isupper())


def sentences(root: Path) -> list[str]:
    found = set()
    for path in sorted(root.rglob("*.py")):
        if {"test", "tests", "idle_test", "site-packages", "dist-packages"} & set(path.relative_to(root).parts):
            continue
        try:
            texts = comment_blocks(path) + docstring_paragraphs(path)
        except (SyntaxError, tokenize.TokenError, UnicodeDecodeError, ValueError):
            continue  # a file written for another Python version: its text is not needed
        for text in texts:
            found.update(s.strip() for s in SENTENCE_END.split(text) if is_prose(s.strip()))
    return sorted(found)


def main(root: str, out: str) -> None:
    rows = sentences(Path(root))
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "toxic", "hate"])
        writer.writerows([text, 0, 0] for text in rows)
    print(f"{len(rows)} sentences -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
