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

And the other side of that: a hateful row naming one group is copied naming people grouped by what
they do or choose (lawyers, landlords, gamers), labelled not hateful and toxic unknown (masked: "lawyers
are vermin" insults, "lawyers run the media" hardly does). The sets hold almost no abuse of such groups,
so the shape "{X} are parasites" alone reads as hate whoever X is; these copies make whom it is said of
decide.

Only training rows are touched, with lexicons written for this purpose (broader than the functional
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
# Groups by trade, habit or taste: no protected characteristic, so abuse of them is not hate.
NON_PROTECTED = tuple(Group(plural, plural, (plural,)) for plural in (
    "lawyers", "politicians", "landlords", "accountants", "estate agents", "influencers", "journalists",
    "telemarketers", "car salesmen", "consultants", "recruiters", "bureaucrats", "managers", "celebrities",
    "hipsters", "gamers", "golfers", "tourists", "cyclists", "football fans", "critics", "lobbyists",
))
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


COPIES_PER_SOURCE = 2  # the sources are few (short statements about one group): each gives two

# Words that still point at a protected group after the swap (adjectives, slurs, places, pronouns of
# gendered abuse): a copy holding one may still be hate, so its row is no source.
IDENTITY_CUE = re.compile(
    r"\b(?:white|black|brown|trann\w*|trans\w*|gay\w*|lesbian\w*|bi|bisexual\w*|queer\w*|homo\w*|fag\w*|"
    r"dyke\w*|muslim\w*|islam\w*|moslem\w*|jew\w*|kike\w*|zion\w*|israel\w*|christian\w*|catholic\w*|"
    r"hindu\w*|sikh\w*|atheist\w*|asian\w*|chin\w*|african\w*|africa|nig\w*|negro\w*|mexic\w*|latin\w*|"
    r"hispanic\w*|spic\w*|wetback\w*|arab\w*|indian\w*|native\w*|immigra\w*|migra\w*|refugee\w*|alien\w*|"
    r"illegal\w*|gyps\w*|german\w*|swed\w*|easterner\w*|pakis?\w*|stanis?|race\w*|racis\w*|racial\w*|"
    r"aryan\w*|ethnic\w*|women|woman|girl\w*|female\w*|femi\w*|gold ?digg\w*|bitch\w*|whore\w*|slut\w*|"
    r"cunt\w*|she|her\w*|\w*wi[fv]es?|moms?|mothers?|men|man|male\w*|boys?|disab\w*|retard\w*|autis\w*|"
    r"cripple\w*|religio\w*|god|allah|europe\w*|western\w*|foreign\w*|third world|monkey\w*|ape\w*|coon\w*|"
    r"ghetto\w*|thug\w*|mosque\w*|synagogue\w*|church\w*|hijab\w*|sharia)\b",
    re.IGNORECASE)


def _said_of_group(text: str) -> bool:
    """A short statement about the group it names first (within its first three words): what it says is
    said of that group, not of others it goes on to mention."""
    words = text.split()
    match = MENTION.search(text)
    return len(words) <= 25 and match is not None and len(text[: match.start()].split()) <= 2


def non_protected_copies(texts: list[str], hateful: np.ndarray, rate: float, seed: int) -> list[tuple[int, str]]:
    """(source row, swapped text) copies of about `rate` of the hateful rows that name exactly one
    unqualified group, each naming a group without a protected characteristic instead
    (`NON_PROTECTED`; two copies, two such groups), unless a copy still holds an `IDENTITY_CUE`.
    Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, str]] = []
    for i in np.flatnonzero(np.nan_to_num(hateful, nan=0) == 1):
        if not _swappable(texts[i], groups_named(texts[i])) or not _said_of_group(texts[i]) \
                or rng.random() >= rate:
            continue
        for target in rng.choice(len(NON_PROTECTED), size=COPIES_PER_SOURCE, replace=False):
            copy = swap_group(texts[i], NON_PROTECTED[int(target)])
            if not IDENTITY_CUE.search(copy):
                out.append((int(i), copy))
    return out
