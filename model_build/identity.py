"""Identity swaps: training rows copied with the group they name replaced by another.

In the eight sets a group's name is a shortcut: rows that name women, trans people or Jews are
hateful two to three times as often as rows in general, so a model learns "a group is named, so
hate" and flags every neutral or positive mention. Counterfactual copies fix the ratio: a row that
is neither hateful nor toxic and names one group is copied with another group's name in its place
(labels kept: swapping who is talked about does not make a neutral sentence hateful), as many times
as each group needs for its hateful share among rows that name it to come down towards the share of
hate among all rows. Hateful and toxic rows are never copied that way.

The other side: a hateful row naming one group is copied naming another (labels kept: what is hate
about one group is hate about another). The sets' hate is about a few groups (women, Jews, Black
people), so the model learns that "I hate women" is hate but not what "I hate Hindus" says. Together
the two kinds of copies leave a group's name uninformative: the words said about it must decide.

Only training rows are touched, with a lexicon written for this purpose (broader than the functional
suite's groups; the suite is never a source).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Group:
    name: str
    plural: str  # what a copy says: the group's plural as a noun phrase, in its usual capitals
    forms: tuple[str, ...]  # plural noun phrases that name it in text (case-insensitive)


GROUPS = (
    Group("women", "women", ("women", "females")),
    Group("black", "Black people", ("black people", "black folks", "blacks", "african americans")),
    Group("white", "white people", ("white people", "white folks", "whites")),
    Group("muslim", "Muslims", ("muslims", "muslim people")),
    Group("jewish", "Jews", ("jews", "jewish people")),
    Group("christian", "Christians", ("christians",)),
    Group("catholic", "Catholics", ("catholics",)),
    Group("hindu", "Hindus", ("hindus",)),
    Group("sikh", "Sikhs", ("sikhs",)),
    Group("atheist", "atheists", ("atheists",)),
    Group("gay", "gay people", ("gay people", "gays", "gay men", "homosexuals")),
    Group("lesbian", "lesbians", ("lesbians",)),
    Group("bisexual", "bisexual people", ("bisexual people", "bisexuals")),
    Group("trans", "trans people", ("trans people", "transgender people", "transgenders", "transsexuals")),
    Group("immigrant", "immigrants", ("immigrants", "migrants")),
    Group("refugee", "refugees", ("refugees", "asylum seekers")),
    Group("disabled", "disabled people", ("disabled people", "people with disabilities", "handicapped people")),
    Group("autistic", "autistic people", ("autistic people",)),
    Group("mexican", "Mexicans", ("mexicans",)),
    Group("latino", "Latinos", ("latinos", "hispanics")),
    Group("asian", "Asians", ("asians", "asian people")),
    Group("chinese", "Chinese people", ("chinese people",)),
    Group("indian", "Indians", ("indians",)),
    Group("arab", "Arabs", ("arabs",)),
    Group("african", "Africans", ("africans",)),
    Group("native", "Native Americans", ("native americans",)),
)
GROUP_BY_NAME = {group.name: group for group in GROUPS}
_FORMS = {form: group for group in GROUPS for form in group.forms}
MENTION = re.compile(r"(?<![#@])\b(" + "|".join(sorted(map(re.escape, _FORMS), key=len, reverse=True)) + r")\b",
                     re.IGNORECASE)


# An identity word in front of a mention names a narrower group ("white women", "trans women"):
# such a row is no source, since a copy would say "white trans people".
QUALIFIED = re.compile(r"\b(?:white|black|trans|transgender|gay|lesbian|bisexual|queer|muslim|jewish|christian|"
                       r"asian|african|mexican|arab|indian|native|latino|latina|hispanic|chinese|disabled|"
                       r"autistic)\s+" + MENTION.pattern, re.IGNORECASE)


def groups_named(text: str) -> set[str]:
    return {_FORMS[m.group(1).lower()].name for m in MENTION.finditer(text)}


def _swappable(text: str, named: set[str]) -> bool:
    return len(named) == 1 and not QUALIFIED.search(text)


def _in_case_of(source: str, replacement: str) -> str:
    """`replacement` written as `source` was: lower case stays lower, a capital first letter stays."""
    if source.islower():
        return replacement.lower()
    if source.isupper() and len(source) > 1:
        return replacement.upper()
    return replacement[:1].upper() + replacement[1:] if source[:1].isupper() else replacement


def swap_group(text: str, to: Group) -> str:
    """`text` with every group it names replaced by `to`."""
    return MENTION.sub(lambda m: _in_case_of(m.group(1), to.plural), text)


def clean_rows(hateful: np.ndarray, toxic: np.ndarray) -> np.ndarray:
    """Rows annotated neither hateful nor toxic (NaN, not annotated, is not clean)."""
    return (np.nan_to_num(hateful, nan=1) == 0) & (np.nan_to_num(toxic, nan=1) == 0)


def balanced_negatives(texts: list[str], hateful: np.ndarray, toxic: np.ndarray, balance: float,
                       seed: int) -> list[tuple[int, str]]:
    """(source row, swapped text) copies of rows that are neither hateful nor toxic and name
    exactly one group: an insult that was not hate about one group ("females ain't shit", offensive
    to Davidson's annotators) can be hate about another, a neutral sentence stays neutral.

    `hateful` and `toxic` hold 1, 0 or NaN (not annotated) per row. For each group the copies naming
    it make up `balance` of what its non-hateful mentions lack for its hateful share to equal the
    share of hate among all annotated rows. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    known = np.isfinite(hateful)
    base_rate = float(hateful[known].mean()) if known.any() else 0.0
    if not 0 < base_rate < 1:
        return []
    named = [groups_named(text) for text in texts]
    clean = clean_rows(hateful, toxic)
    sources = [i for i in np.flatnonzero(clean) if _swappable(texts[i], named[i])]
    annotated = np.flatnonzero(known)
    out: list[tuple[int, str]] = []
    for group in GROUPS:
        mentions = np.array([i for i in annotated if group.name in named[i]], dtype=int)
        hate = int(np.sum(hateful[mentions] == 1))
        lacking = hate * (1 - base_rate) / base_rate - (len(mentions) - hate)
        wanted = round(balance * lacking)
        pool = [i for i in sources if group.name not in named[i]]
        if wanted <= 0 or not pool:
            continue
        for i in rng.choice(pool, size=wanted, replace=True):
            out.append((int(i), swap_group(texts[i], group)))
    return out


def hateful_copies(texts: list[str], hateful: np.ndarray, rate: float, seed: int) -> list[tuple[int, str]]:
    """(source row, swapped text) copies of about `rate` of the hateful rows (`hateful` == 1; NaN: not
    annotated, never a source) that name exactly one unqualified group, each naming a group drawn from
    the others. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, str]] = []
    for i in np.flatnonzero(np.nan_to_num(hateful, nan=0) == 1):
        named = groups_named(texts[i])
        if not _swappable(texts[i], named) or rng.random() >= rate:
            continue
        others = [group for group in GROUPS if group.name not in named]
        out.append((int(i), swap_group(texts[i], others[int(rng.integers(len(others)))])))
    return out
