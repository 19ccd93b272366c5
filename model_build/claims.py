"""Claims about a group, stated or rejected: what a sentence says of a group decides, not its words.

The frames (frames.py) put the sets' hateful statements inside rejecting or owning frames, so a model
can learn "rejecting words, so clean" as readily as "a rejected slur, so clean"; and nothing in the
sets rejects a kind claim about a group, which is hate too ("It's a myth that {g} are honest"). These
rows cross the two: a claim about the group a clean training row names, derogatory or kind, stated
outright or rejected. Each chosen row gives all four, derogatory stated and kind rejected hateful,
the other two clean, so neither the claim's words, the frame's words, the group's name nor the
sentence's shape decides alone, only what the whole sentence says of the group. A third of the rows
are the sentence alone, the rest stand before or after their row.

Written for this purpose; the functional suite is never a source, and no sentence here shares four
words in a row with any of its cases (its words for a group, "vermin", "inferior", ..., are not used),
so that its counter-speech and negation cases measure whether the idea carries over. The full profile
uses it with a 4-layer student (a 3-layer one loses what the teacher learns); the quick profile's
250-step teacher does not learn it (README, "Claims stated or rejected").
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from model_build.identity import GROUP_BY_NAME
from model_build.stance import fill, groups_of_sources, join_clause

Kind = Literal["stated_derogatory", "stated_kind", "rejected_derogatory", "rejected_kind"]
# Labelled hateful; the other two keep their clean row's labels.
HATEFUL_CLAIMS: frozenset[str] = frozenset({"stated_derogatory", "rejected_kind"})

# (derogatory, kind) claims about {g}, each the other's mirror.
CLAIMS = (
    ("a drain on everyone around them", "a blessing to everyone around them"),
    ("dishonest by nature", "honest by nature"),
    ("rotten to the core", "good to the core"),
    ("less than human", "as human as anyone"),
    ("savages who cannot be civilised", "gentle people who welcome everyone"),
    ("too dim to think for themselves", "clever enough to think for themselves"),
    ("freeloaders who ruin every town they move into", "hard workers who lift every town they move into"),
    ("crooks, the lot of them", "decent folk, the lot of them"),
    ("a stain on this nation", "a credit to this nation"),
    ("a disease spreading through our cities", "a gift to our cities"),
    ("unfit to raise children", "loving parents to their children"),
    ("a danger to every neighbourhood", "an asset to every neighbourhood"),
)
# The claim stated: the sentence says what the claim says.
STATED = (
    "{G} are {c}.",
    "Everyone I know agrees that {g} are {c}.",
    "Face it, {g} are {c}.",
    "It's simply a fact that {g} are {c}.",
    "My grandfather always told me {g} are {c}, and he was right.",
    "After all these years I'm convinced {g} are {c}.",
)
# The claim rejected: the sentence says its opposite.
REJECTED = (
    "Anyone who claims {g} are {c} is spreading nonsense.",
    "It's a myth that {g} are {c}.",
    "My grandfather always told me {g} are {c}, and he was wrong.",
    "There's no truth at all in the idea that {g} are {c}.",
    "Some loudmouth online insisted {g} are {c}; what rubbish.",
    "Nobody with any sense believes {g} are {c}.",
)


def sentence(template: str, plural: str, claim: str) -> str:
    return fill(template, plural).replace("{G}", plural[:1].upper() + plural[1:]).replace("{c}", claim)


def claim_rows(texts: list[str], clean: np.ndarray, rate: float, seed: int) -> list[tuple[int, str, Kind]]:
    """(source row, text, kind) for about `rate` of the clean rows that name exactly one group: for each,
    one claim pair about that group, stated and rejected (four rows; a third of them the sentence
    alone). Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, str, Kind]] = []
    for i, named in groups_of_sources(texts, clean).items():
        if len(named) != 1 or rng.random() >= rate:
            continue
        plural = GROUP_BY_NAME[next(iter(named))].plural
        derogatory, kind = CLAIMS[int(rng.integers(len(CLAIMS)))]
        stated, rejected = STATED[int(rng.integers(len(STATED)))], REJECTED[int(rng.integers(len(REJECTED)))]
        quartet: tuple[tuple[str, str, Kind], ...] = (
            (stated, derogatory, "stated_derogatory"), (stated, kind, "stated_kind"),
            (rejected, derogatory, "rejected_derogatory"), (rejected, kind, "rejected_kind"))
        for template, claim, what in quartet:
            text = sentence(template, plural, claim)
            out.append((i, text if rng.random() < 1 / 3 else join_clause(text, texts[i], rng), what))
    return out
