"""A message's text as the model learnt to read it: plain text, not Slack's markup.

Slack returns `&`, `<` and `>` as entities and writes mentions, channels and links as `<...>` tokens
(api.slack.com/reference/surfaces/formatting). The model was trained on plain text, so a mention
would otherwise reach it as a user id (`<@U024BE7LH>`) and a typed `<3` as `&lt;3`.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"<([^<>\n]*)>")


def _plain_token(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target.startswith("@"):  # a user; the name is never needed to judge the words around it
        return "@user"
    if target.startswith("#"):
        return f"#{label}" if label else "#channel"
    if target.startswith("!subteam^"):
        return label or "@team"
    if target.startswith("!date^"):
        return label
    if target.startswith("!"):  # !here, !channel, !everyone
        return f"@{target[1:]}"
    return label or target  # a link: what the reader sees


def plain_text(slack_text: str) -> str:
    """`slack_text` (a message's `text` field) with Slack's tokens resolved and entities decoded."""
    text = _TOKEN.sub(_plain_token, slack_text)
    # &amp; last, so a literal "&lt;" typed by the user (sent as "&amp;lt;") stays "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
