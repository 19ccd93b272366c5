"""Bolt listeners: plain functions, registered in one place (`register_listeners`).

A trigger reaction, or the "Check with Decorum" message shortcut, is acked at once (Slack waits 3 s)
and checked in a lazy listener: on Lambda a second, asynchronous invocation; locally a thread. Other
reactions are acked and dropped, so no lazy run is spent on every emoji in the workspace. A click on
a verdict's "Right" or "Wrong" button is acked at once too, and recorded lazily.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from handlers.slack.checker import CheckRequest, MessageChecker
from handlers.slack.config import LOG_SERVICE
from handlers.slack.feedback import VOTE_ACTIONS
from handlers.slack.home import HomeTab
from handlers.slack.votes import Vote, VoteRecorder

log = Logger(service=LOG_SERVICE, child=True)
# The message shortcut's callback id: the Slack app manifest (infra/slack-app-manifest.yaml) declares it.
CHECK_SHORTCUT_CALLBACK_ID = "decorum_check_message"


def trigger_matcher(checker: MessageChecker) -> Callable[[dict, dict], bool]:
    """A reaction to a message with one of its channel's trigger emojis (settings cached: workspace_settings)."""

    def is_trigger(event: dict, body: dict) -> bool:
        item = event.get("item") or {}
        if item.get("type") != "message":
            return False
        return event.get("reaction") in checker.settings_for(body.get("team_id", ""), item.get("channel", "")
                                                             ).trigger_emojis

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


def lazy_run(name: str, read: Callable[[dict], Any], run: Callable[[Any, WebClient, BoltContext, Respond], object]
             ) -> Callable[..., None]:
    """A lazy listener (Bolt finds it by `name`; it deep-copies the context for lazy runs, so collaborators
    holding locks and sockets are bound here, not passed). `read` turns the payload into a request (a
    ValueError drops it: it was acked, there is nothing to retry); a failure of `run` is kept for the
    Lambda handler to re-raise (`pop_lazy_failure`)."""

    def lazy(client: WebClient, body: dict, context: BoltContext, respond: Respond) -> None:
        try:
            request = read(body)
        except ValueError as exc:
            log.warning(f"{name} dropped", extra={"reason": str(exc)})
            return
        try:
            run(request, client, context, respond)
        except Exception as exc:
            _failures.error = exc
            raise

    lazy.__name__ = lazy.__qualname__ = name
    return lazy


def reaction_check(checker: MessageChecker) -> Callable[..., None]:
    return lazy_run("check_reaction", lambda body: CheckRequest.from_reaction(body.get("event") or {}, body),
                    lambda request, client, context, _: checker.check(request, client, context.bot_user_id))


def shortcut_check(checker: MessageChecker) -> Callable[..., None]:
    return lazy_run("check_shortcut", CheckRequest.from_shortcut,
                    lambda request, client, context, respond: checker.check(request, client, context.bot_user_id,
                                                                            respond))


def vote_record(recorder: VoteRecorder) -> Callable[..., None]:
    return lazy_run("record_vote", Vote.from_body,
                    lambda vote, client, _, respond: recorder.record(vote, client, respond))


def ignore(ack: Ack) -> None:
    ack()


def register_listeners(app: App, checker: MessageChecker, recorder: VoteRecorder | None = None,
                       home: HomeTab | None = None) -> None:
    app.event("reaction_added", matchers=[trigger_matcher(checker)])(
        ack=acknowledge, lazy=[reaction_check(checker)])
    app.event("reaction_added")(ignore)
    app.shortcut(CHECK_SHORTCUT_CALLBACK_ID)(ack=acknowledge, lazy=[shortcut_check(checker)])
    if recorder is not None:
        for action_id in VOTE_ACTIONS:
            app.action(action_id)(ack=acknowledge, lazy=[vote_record(recorder)])
    if home is not None:
        home.register(app)
