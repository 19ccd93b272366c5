"""The bot's configuration, read once from the environment and validated at start-up.

A missing or malformed setting stops the process at import (Lambda init) with a message naming the
variable, instead of failing on the first reaction.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from handlers.settings import SettingsError, env_name, from_env

DEFAULT_TRIGGER_EMOJIS = ("triangular_flag_on_post",)  # :triangular_flag_on_post: (a red flag)
LOG_SERVICE = "decorum-slack"  # the `service` key of every log line, and the X-Ray service annotation
# X-Ray subsegments for the AWS calls (botocore: SageMaker, DynamoDB, Secrets Manager) and the Slack
# Web API (slack_sdk speaks urllib over http.client). Tracing is on in Lambda only (Powertools' rule).
TRACED_MODULES = ("botocore", "httplib")


# Where a verdict goes: a public thread reply (its words masked; the asker sees them in full, privately),
# only privately to the asker, or both (the public reply, and the whole verdict privately).
ReplyMode = Literal["thread", "ephemeral", "both"]


class ConfigError(SettingsError):
    """A required setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class SlackCredentials:
    """One workspace: its bot token. Many (OAuth): the app's client id and secret; tokens per workspace
    then come from the installation store."""

    bot_token: str
    signing_secret: str
    client_id: str = ""
    client_secret: str = ""

    def __repr__(self) -> str:  # never print secrets, even in a traceback
        return "SlackCredentials(bot_token=***, signing_secret=***, client_secret=***)"

    def check(self, oauth: bool, source: str) -> SlackCredentials:
        """Raises ConfigError naming what `source` lacks for the mode."""
        needed = ("signing_secret", "client_id", "client_secret") if oauth else ("signing_secret", "bot_token")
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ConfigError(f"{source}: no {', '.join(missing)} ({'OAuth' if oauth else 'single-workspace'} mode)")
        return self


@dataclass(frozen=True)
class BotConfig:
    """Each field is read from `DECORUM_<FIELD>` (`handlers/settings.py`); infra/slack.py writes them."""

    endpoint_name: str
    ledger_table: str
    trigger_emojis: tuple[str, ...] = DEFAULT_TRIGGER_EMOJIS  # comma-separated; colons optional
    reply_mode: ReplyMode = "thread"
    # Secrets Manager secret holding {"bot_token": ..., "signing_secret": ...}; empty: env vars.
    slack_secret_id: str = ""
    slack_api_url: str = "https://slack.com/api/"
    dynamodb_endpoint_url: str | None = None
    sagemaker_endpoint_url: str | None = None
    secrets_endpoint_url: str | None = None
    # The first endpoint call waits through a serverless cold start (ModelSetupTime, alarmed at 10 s);
    # the retries after it, on a warm endpoint, do not need to.
    classify_first_timeout_s: float = 12.0
    classify_timeout_s: float = 3.0
    classify_attempts: int = 3
    # A claim older than this is presumed crashed and may be taken over (> the lazy run's timeout).
    lease_seconds: int = 45
    ledger_ttl_days: int = 7
    warmup_pings_endpoint: bool = True
    max_text_chars: int = 40_000
    explain: bool = True  # ask the endpoint which words drove the verdict (about +16 ms a check)
    # A word is named as a driver when leaving it out lowers a flagged label's probability by at least
    # this much (and by a quarter of the strongest word's weight: replies.py).
    explain_min_weight: float = 0.02
    # Votes on verdicts (handlers/slack/feedback.py); empty: no table, no buttons.
    feedback_table: str = ""
    feedback_ttl_days: int = 90
    feedback_keep_text: bool = False  # store the message text with the votes, for the next model's training
    # Settings workspace admins change in App Home (handlers/slack/workspace_settings.py); empty: the
    # fields above apply everywhere.
    settings_table: str = ""
    settings_cache_s: float = 60.0
    sensitivity_labels: tuple[str, ...] = ("toxic", "hate")  # the model's labels a workspace may tune
    # Many workspaces (OAuth, handlers/slack/oauth.py): the S3 bucket of installations; empty: one
    # workspace, its bot token in the secret.
    installation_bucket: str = ""
    s3_endpoint_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger_emojis", tuple(e.strip().strip(":") for e in self.trigger_emojis))
        if not self.trigger_emojis or any(not e or ":" in e for e in self.trigger_emojis):
            raise ConfigError(f"{env_name('trigger_emojis')} must list emoji names, e.g. 'rotating_light'")
        if self.reply_mode not in ("thread", "ephemeral", "both"):
            raise ConfigError(f"{env_name('reply_mode')} must be 'thread', 'ephemeral' or 'both'")
        if not 0 <= self.settings_cache_s <= 60:
            raise ConfigError(f"{env_name('settings_cache_s')} must be in [0, 60]: a change applies within a minute")
        if self.classify_timeout_s <= 0 or self.classify_first_timeout_s <= 0 or self.classify_attempts < 1:
            raise ConfigError(f"{env_name('classify_timeout_s')} and {env_name('classify_first_timeout_s')} must be "
                              f"> 0, {env_name('classify_attempts')} >= 1")
        if self.lease_seconds < 1 or self.ledger_ttl_days < 1 or self.feedback_ttl_days < 1:
            raise ConfigError(f"{env_name('lease_seconds')}, {env_name('ledger_ttl_days')} and "
                              f"{env_name('feedback_ttl_days')} must be >= 1")
        if self.feedback_keep_text and not self.feedback_table:
            raise ConfigError(f"{env_name('feedback_keep_text')} needs {env_name('feedback_table')}")

    @property
    def classify_budget_s(self) -> float:
        """The longest a check can wait on the endpoint: the first call, then the retries."""
        return self.classify_first_timeout_s + (self.classify_attempts - 1) * self.classify_timeout_s

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotConfig:
        return from_env(cls, env, ConfigError)


class CredentialSource:
    """The Slack credentials as they are now: from Secrets Manager when `slack_secret_id` is set (through
    Powertools, cached `max_age_s`), else the SLACK_* variables. A secret stored or rotated after deploy
    reaches a warm container within `max_age_s`, or at once when a request fails verification
    (`refresh`, at most once per `refresh_interval_s`, so forged requests cannot hammer Secrets Manager)."""

    def __init__(self, config: BotConfig, env: Mapping[str, str] | None = None, secrets_client=None,
                 max_age_s: int = 300, refresh_interval_s: float = 30.0, clock=time.monotonic):
        self.secret_id, self.max_age_s, self.refresh_interval_s, self.clock = (
            config.slack_secret_id, max_age_s, refresh_interval_s, clock)
        self._last_refresh = float("-inf")
        self._provider = None
        self._fixed: SlackCredentials | None = None
        self.oauth = bool(config.installation_bucket)
        if not self.secret_id:
            env = os.environ if env is None else env
            self._fixed = SlackCredentials(*(env.get(f"SLACK_{name}", "") for name in (
                "BOT_TOKEN", "SIGNING_SECRET", "CLIENT_ID", "CLIENT_SECRET"))).check(
                self.oauth, f"{env_name('slack_secret_id')} is not set, so the SLACK_* variables are read")
            return
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        if secrets_client is None and config.secrets_endpoint_url:
            import boto3

            secrets_client = boto3.client("secretsmanager", endpoint_url=config.secrets_endpoint_url)
        self._provider = SecretsProvider(boto3_client=secrets_client) if secrets_client else SecretsProvider()

    @classmethod
    def fixed(cls, credentials: SlackCredentials) -> CredentialSource:
        source = cls.__new__(cls)
        source.secret_id, source._provider, source._fixed = "", None, credentials
        source.oauth = bool(credentials.client_id)
        return source

    def get(self, force: bool = False) -> SlackCredentials:
        if self._fixed is not None:
            return self._fixed
        try:
            raw = self._provider.get(self.secret_id, max_age=self.max_age_s, force_fetch=force)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - re-raised with the secret's name, never its value
            raise ConfigError(f"cannot read Slack secret {self.secret_id}: {exc.__class__.__name__}") from None
        try:
            values = json.loads(raw if isinstance(raw, str) else raw.decode())
            credentials = SlackCredentials(*(str(values.get(name) or "") for name in (
                "bot_token", "signing_secret", "client_id", "client_secret")))
        except (ValueError, TypeError, AttributeError):
            raise ConfigError(f"secret {self.secret_id} must be a JSON object") from None
        return credentials.check(self.oauth, f"secret {self.secret_id}")

    def refresh(self) -> SlackCredentials | None:
        """Reads the secret again, bypassing the cache; None when not allowed yet or nothing changed."""
        if self._fixed is not None or self.clock() - self._last_refresh < self.refresh_interval_s:
            return None
        self._last_refresh = self.clock()
        before = self.get()
        after = self.get(force=True)
        return after if after != before else None


def load_credentials(config: BotConfig, env: Mapping[str, str] | None = None, secrets_client=None) -> SlackCredentials:
    """The credentials once (local entry points); the Lambda keeps a `CredentialSource`."""
    return CredentialSource(config, env, secrets_client).get()
