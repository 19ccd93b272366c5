"""Builds the Bolt app and its collaborators from one BotConfig; shared by every entry point."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from handlers.slack.checker import MessageChecker
from handlers.slack.classifier import EndpointClassifier
from handlers.slack.config import BotConfig, SlackCredentials
from handlers.slack.feedback import FeedbackStore
from handlers.slack.home import HomeTab
from handlers.slack.ledger import ReplyLedger
from handlers.slack.listeners import register_listeners
from handlers.slack.oauth import oauth_settings, register_uninstall
from handlers.slack.rate_limits import MAX_CLIENT_WAIT_S, ShortRateLimitRetryHandler
from handlers.slack.votes import VoteRecorder
from handlers.slack.workspace_settings import SettingsStore


def web_client(config: BotConfig, credentials: SlackCredentials) -> WebClient:
    """With OAuth, no token here: Bolt hands each listener a client with its workspace's token.
    429 with a short Retry-After: waited out (slack_sdk reads the header); dropped connections: retry once."""
    return WebClient(
        token=credentials.bot_token or None,
        base_url=config.slack_api_url,
        timeout=10,
        retry_handlers=[ShortRateLimitRetryHandler(max_retry_count=3, max_wait_s=MAX_CLIENT_WAIT_S),
                        ConnectionErrorRetryHandler(max_retry_count=1)],
    )


@dataclass(frozen=True)
class Services:
    """The app's collaborators, built once per process (they hold connection pools and caches)."""

    checker: MessageChecker
    recorder: VoteRecorder | None = None  # None: feedback off
    home: HomeTab | None = None  # None: no settings table, the deploy's settings everywhere

    @classmethod
    def from_config(cls, config: BotConfig, classifier: EndpointClassifier | None = None,
                    ledger: ReplyLedger | None = None) -> Services:
        classifier = classifier or EndpointClassifier(config)
        feedback, settings = FeedbackStore.from_config(config), SettingsStore.from_config(config)
        return cls(MessageChecker(config, ledger or ReplyLedger.from_config(config), classifier, feedback, settings),
                   VoteRecorder(feedback, classifier.serving_version) if feedback else None,
                   HomeTab(settings, config.sensitivity_labels) if settings else None)


def create_app(config: BotConfig, credentials: SlackCredentials, services: Services | None = None) -> App:
    """One workspace (the bot token in `credentials`), or many (`config.installation_bucket`: OAuth)."""
    services = services or Services.from_config(config)
    many = bool(config.installation_bucket)
    app = App(
        signing_secret=credentials.signing_secret,
        client=web_client(config, credentials),
        oauth_settings=oauth_settings(config, credentials) if many else None,
        process_before_response=True,  # on Lambda nothing may run after the response is returned
        token_verification_enabled=False,  # auth.test on the first request, not at import (cold start)
        logger=logging.getLogger("decorum.slack.bolt"),
    )
    register_listeners(app, services.checker, services.recorder, services.home)
    if many:
        register_uninstall(app, app.installation_store, services.checker.settings)
    return app
