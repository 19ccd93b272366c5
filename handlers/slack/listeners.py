"""Bolt listeners: plain functions, registered in one place (`register_listeners`).

A trigger reaction is acked at once (Slack waits 3 s) and checked in a lazy listener: on Lambda a
second, asynchronous invocation; locally a thread. Other reactions are acked and dropped, so no
lazy run is spent on every emoji in the workspace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from handlers.slack.checker import Reaction, ReactionChecker


def trigger_matcher(emojis: tuple[str, ...]) -> Callable[[dict], bool]:
    wanted = frozenset(emojis)

    def is_trigger(event: dict) -> bool:
        return event.get("reaction") in wanted and (event.get("item") or {}).get("type") == "message"

    return is_trigger


def acknowledge(ack: Ack) -> None:
    ack()


_failures = threading.local()


def pop_lazy_failure() -> BaseException | None:
    """The exception the last lazy run on this thread raised, if any (then cleared).

    Bolt logs and swallows a lazy listener's exception; on Lambda the invocation would then
    succeed and never be retried. The Lambda handler re-raises this so Lambda's retry runs.
    """
    failure = getattr(_failures, "error", None)
    _failures.error = None
    return failure


def reaction_check(checker: ReactionChecker) -> Callable[..., None]:
    """The lazy listener, bound to its checker (Bolt deep-copies the context for lazy runs, so
    collaborators holding locks and sockets cannot travel there). Bolt finds it by its name."""

    def check_reaction(client: WebClient, event: dict, body: dict, context: BoltContext) -> None:
        try:
            checker.check(Reaction.from_event(event, body), client, context.bot_user_id)
        except Exception as exc:
            _failures.error = exc
            raise

    return check_reaction


def ignore(ack: Ack) -> None:
    ack()


def register_listeners(app: App, checker: ReactionChecker, trigger_emojis: tuple[str, ...]) -> None:
    app.event("reaction_added", matchers=[trigger_matcher(trigger_emojis)])(
        ack=acknowledge, lazy=[reaction_check(checker)])
    app.event("reaction_added")(ignore)
