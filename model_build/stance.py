"""First-person stance rows: the speaker's own hostility towards a group, and towards things that are not.

Hate in the eight sets is third-person generalization ("X are ..."); a speaker who says in the first
person that they loathe a group, or will beat its members, is rare there and mostly labelled not
hateful (Davidson's offensive tweets about no group, implicit_hate's tweets against hate groups), so
a model learns that first-person hostility is no hate whoever it is aimed at. These rows teach the
difference with the training set's own clean rows: a clean row naming one group, with a clause in
which the speaker turns against that group, is hateful; the same clause turned warm ("I admire ...",
the same sentence otherwise) leaves it clean, as does the hostility denied ("I have never despised
...") or aimed at what is not a group of people (a chore, a gadget, people by what they do). So the
clause's target and stance decide, not the group's name nor the sentence's shape. A third of each
kind is the clause alone.

The clauses are written for this purpose; the functional suite is never a source, and none of its
words for hostility ("hate", "can't stand", "hurt", "sick") is used here, so that its first-person
cases measure whether the idea carries over to words these rows never used.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np

from model_build.identity import GROUP_BY_NAME, groups_named

Kind = Literal["hostile", "warm", "aside", "denied"]
HOSTILE_KINDS: frozenset[str] = frozenset({"hostile"})  # labelled hateful; the others keep their row's labels

# The speaker's hostility towards {g} (the group's plural, as a noun phrase), and its mirror: the same
# sentence turned warm, so that neither the group's name nor the sentence's shape decides, only its stance.
HOSTILE_WARM = (
    ("I despise {g}.", "I admire {g}."),
    ("I loathe {g}, every one of them.", "I respect {g}, every one of them."),
    ("Honestly, I detest {g}.", "Honestly, I adore {g}."),
    ("I have nothing but contempt for {g}.", "I have nothing but respect for {g}."),
    ("I can't bear being around {g}.", "I always enjoy being around {g}."),
    ("I'd be glad to see the back of {g}, all of them.", "I'd be glad to see more of {g}, all of them."),
    ("I resent {g} and I always will.", "I appreciate {g} and I always will."),
    ("I'm going to punch the first of those {g} who talks to me.",
     "I'm going to thank the first of those {g} who talks to me."),
    ("If any {g} come near my house I will beat them senseless.",
     "If any {g} come near my house I will invite them in for tea."),
    ("Give me half a chance and I'll make {g} suffer.", "Give me half a chance and I'll make {g} feel at home."),
    ("I swear I'll smash the faces of those {g}.", "I swear I'll shake the hands of those {g}."),
    ("I'd gladly burn down every home {g} live in.", "I'd gladly help build every home {g} live in."),
)
HOSTILE = tuple(hostile for hostile, _ in HOSTILE_WARM)
WARM = tuple(warm for _, warm in HOSTILE_WARM)
# The same hostility, denied: the row stays clean.
DENIED = (
    "I have never despised {g}.",
    "I don't loathe {g}, not one bit.",
    "I would never punch anyone for being one of the {g}.",
    "Nobody here resents {g}, least of all me.",
    "I'd never wish harm on {g}.",
)
# The speaker's hostility towards what is not a group of people: the row stays clean.
ASIDE = (
    "I despise {t}.",
    "I loathe {t}, every single time.",
    "Honestly, I detest {t}.",
    "I have nothing but contempt for {t}.",
    "I can't bear {t}.",
    "I'd be glad to see the back of {t}, all of them.",
    "I resent {t} and I always will.",
)
# Violence against things only: against people it is abuse, whoever they are.
ASIDE_ACTS = (
    "I'm going to smash {t} to pieces one day.",
    "Give me half a chance and I'll throw {t} out of the window.",
    "I swear I'll burn {t} one day.",
)
# Targets that are not groups of people by who they are: things, chores, and people by what they do.
THINGS = (
    "traffic jams", "slow elevators", "spam calls", "merge conflicts", "lukewarm drinks",
    "long status meetings", "clock changes", "reply-all emails", "tax forms", "paywalls",
    "loud leaf blowers", "wasps", "horror movies", "redesigned logos", "pop-up ads", "flat tyres",
    "wet socks", "expired coupons", "autocorrect errors", "hold queues", "night buses", "brussels sprouts",
)
WHAT_THEY_DO = (
    "bullies", "scammers", "litterbugs", "people who cut the queue", "tailgaters", "racists",
    "people who spoil films", "fare dodgers", "internet trolls", "bigots",
)
WORDS = re.compile(r"\S+")


def fill(template: str, target: str) -> str:
    return template.replace("{g}", target).replace("{t}", target)


def usable_source(text: str) -> bool:
    """A clean row a clause can stand beside: 3 to 40 words on one line, no quote marks."""
    return 3 <= len(WORDS.findall(text)) <= 40 and "\n" not in text and '"' not in text


def groups_of_sources(texts: list[str], clean: np.ndarray) -> dict[int, set[str]]:
    """The clean rows a sentence can stand beside (`usable_source`), in order, with the groups each names."""
    return {int(i): groups_named(texts[i]) for i in np.flatnonzero(clean) if usable_source(texts[i])}


def join_clause(clause: str, row: str, rng: np.random.Generator) -> str:
    row = row.strip()
    return f"{clause} {row}" if rng.random() < 0.5 else f"{row} {clause}"


def stance_rows(texts: list[str], clean: np.ndarray, rate: float, seed: int) -> list[tuple[int, str, Kind]]:
    """(source row, text, kind) for about `rate` of the clean rows that name exactly one group: a hostile
    and a warm copy each (the clause about the row's group), as many aside copies (a clause about a
    target that is no group, beside clean rows of any kind) and a quarter as many denied ones. A third
    of each kind is the clause alone (its source row gives the labels it keeps). Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    named = groups_of_sources(texts, clean)
    about_one = [i for i, groups in named.items() if len(groups) == 1]
    anything = list(named)
    out: list[tuple[int, str, Kind]] = []
    if not about_one:
        return out
    chosen = [i for i in about_one if rng.random() < rate]
    for i in chosen:
        group = GROUP_BY_NAME[next(iter(named[i]))]
        hostile, warm = HOSTILE_WARM[int(rng.integers(len(HOSTILE_WARM)))]
        for template, kind in ((hostile, "hostile"), (warm, "warm")):
            clause = fill(template, group.plural)
            out.append((i, clause if rng.random() < 1 / 3 else join_clause(clause, texts[i], rng), kind))
    for _ in chosen:
        i = anything[int(rng.integers(len(anything)))]
        template = (ASIDE + ASIDE_ACTS)[int(rng.integers(len(ASIDE) + len(ASIDE_ACTS)))]
        targets = THINGS if template in ASIDE_ACTS else THINGS + WHAT_THEY_DO
        clause = fill(template, targets[int(rng.integers(len(targets)))])
        out.append((i, clause if rng.random() < 1 / 3 else join_clause(clause, texts[i], rng), "aside"))
    for _ in range(len(chosen) // 4):
        i = about_one[int(rng.integers(len(about_one)))]
        group = GROUP_BY_NAME[next(iter(named[i]))]
        clause = fill(DENIED[int(rng.integers(len(DENIED)))], group.plural)
        out.append((i, clause if rng.random() < 1 / 3 else join_clause(clause, texts[i], rng), "denied"))
    return out
