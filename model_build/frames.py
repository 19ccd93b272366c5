"""Counter-speech and negation frames around the training set's own hateful statements.

None of the eight sets has counter-speech or negated hate, so a model learns "a hateful statement
appears, so hate" and flags the people who quote hate to reject it. A framed copy of a short hateful
training row teaches the difference: reported, quoted to condemn or denied, it is neither hateful
nor toxic; owned ("I'm not racist, but ..."), it keeps its labels, so the frame's words alone never
decide. Only training rows are framed, with frames written for this purpose (the functional suite
is never a source of training text).
"""

from __future__ import annotations

import re

import numpy as np

# The statement is reported, quoted to reject it, or denied: labels 0 / 0.
REJECTING = (
    'Comments like "{s}" have no place on this team.',
    'A stranger told my sister "{s}" and it still upsets her.',
    "People who claim that {s} are spreading prejudice.",
    '"{s}" is a bigoted myth, plain and simple.',
    'We removed a post that said "{s}".',
    "Our history teacher showed us old propaganda claiming that {s}.",
    "It is not true that {s}.",
    "I used to believe that {s}, but I was completely wrong.",
)
# The statement is owned: labels kept, so that a frame's words are not a shortcut either way.
OWNING = (
    "I'm not racist, but {s}.",
    "Let's be honest: {s}.",
    "{S}. Prove me wrong.",
    "My opinion hasn't changed: {s}.",
)
WORDS = re.compile(r"\S+")


def statement(text: str) -> str | None:
    """A training text usable inside a frame: one plain statement of 4 to 30 words, else None."""
    words = WORDS.findall(text)
    if not 4 <= len(words) <= 30 or any(c in text for c in '"\n') or "http" in text or "[URL]" in text:
        return None
    return text.strip().rstrip(".!?;, ")


def frame(template: str, sentence: str) -> str:
    lowered = sentence[:1].lower() + sentence[1:]
    return template.replace("{s}", lowered).replace("{S}", sentence[:1].upper() + sentence[1:])


def framed_rows(texts: list[str], hateful: np.ndarray, rate: float, seed: int) -> list[tuple[int, str, bool]]:
    """(source row, framed text, rejects?) for about `rate` of the usable hateful rows: three in four
    rejecting frames, one in four owning ones. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    out = []
    for i in np.flatnonzero(hateful):
        sentence = statement(texts[i])
        if sentence is None or rng.random() >= rate:
            continue
        rejects = rng.random() < 0.75
        templates = REJECTING if rejects else OWNING
        out.append((int(i), frame(templates[int(rng.integers(len(templates)))], sentence), bool(rejects)))
    return out
